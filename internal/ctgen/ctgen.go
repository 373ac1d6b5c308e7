// Package ctgen writes realistic, deterministic CloudTrail S3 export trees for benchmarks
// (scripts/ctgen is its command line; scripts/bench.sh --cloudtrail and --lookup use it).
//
// A tree is what an organisation trail delivers to its bucket:
//
//	AWSLogs/<o-org>/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 alnum>.json.gz
//	AWSLogs/<o-org>/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_<home>_<YYYYMMDDTHHmmssZ>.json.gz
//
// Each log file is the gzip of one line {"Records":[...]}: the records of one account and region
// over about five minutes (a few hundred by default, as CloudTrail delivers them), in no
// particular order; some records arrive one file late, and some are delivered twice (the same
// eventID in a later file, as CloudTrail's at-least-once delivery does). Every region of every
// account has a digest per hour listing its log files with their SHA-256.
//
// The records follow ../shared/corpus/SHAPES.md: Secrets Manager calls (GetSecretValue by name
// or ARN with resources[], DescribeSecret, ListSecrets, BatchGetSecretValue by id list with the
// GetSecretValue record AWS writes for each secret it returned, GetResourcePolicy,
// ListSecretVersionIds, GetRandomPassword), the KMS Decrypt that Secrets Manager makes on the
// caller's behalf (invokedBy secretsmanager.amazonaws.com) for secrets under a customer key,
// rotations (RotationStarted, a Lambda's PutSecretValue AWSPENDING and
// UpdateSecretVersionStage, RotationSucceeded), AccessDenied reads, STS
// AssumeRoleWithWebIdentity when an EKS pod's session renews, and other services' management
// calls. Identities: AssumedRole workloads (EKS IRSA, EC2 instance profiles, Lambda, ECS),
// IAM Identity Center people on the console, IAM users with long-term keys from on-premises
// addresses, and AWS Config's service-linked role (invokedBy config.amazonaws.com).
//
// Planted (unless NoIncidents): half way through the log, an IAM user's key used from an
// outside address lists the secrets of its account and region, reads 120 of them in four
// minutes, then stops the trail.
//
// The same options always give the same bytes.
package ctgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Options shape a tree. The zero value of a field means its default.
type Options struct {
	Seed      uint64    // default 11
	Accounts  int       // default 2
	Regions   []string  // default eu-west-1, eu-central-1, us-east-1
	Workloads int       // workload roles per account and region, default 80
	Secrets   int       // secrets per account and region, default 1200
	Rate      float64   // mean records a second per account and region, default 1.1 (about 330 a file)
	Start     time.Time // log time of the first record, default 2026-09-21T00:00:00Z
	// LateShare of the records are delivered one file late, DuplicateShare delivered again in
	// the next file (defaults 0.03 and 0.002; negative: none).
	LateShare, DuplicateShare float64
	NoIncidents               bool
}

// Stats describe what was written.
type Stats struct {
	Files, Digests      int
	Records, Duplicates int   // Records counts every record written, duplicates included
	Bytes               int64 // decompressed bytes of the log files
	Compressed          int64 // bytes of the log files as stored
	DigestBytes         int64 // bytes of the digest files as stored
	First, Last         time.Time
	Planted             []string
}

const (
	window     = 5 * time.Minute
	maxPerFile = 1000 // CloudTrail starts another file when one window has more
	orgID      = "o-3m8xk2q7vd"
	bucket     = "kestrel-org-cloudtrail"
	trail      = "kestrel-org-trail"
	homeRegion = "eu-west-1"
)

var defaultRegions = []string{"eu-west-1", "eu-central-1", "us-east-1"}

func (o *Options) defaults() {
	if o.Seed == 0 {
		o.Seed = 11
	}
	if o.Accounts <= 0 {
		o.Accounts = 2
	}
	if len(o.Regions) == 0 {
		o.Regions = defaultRegions
	}
	if o.Workloads <= 0 {
		o.Workloads = 80
	}
	if o.Secrets <= 0 {
		o.Secrets = 1200
	}
	if o.Rate <= 0 {
		o.Rate = 1.1
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC)
	}
	switch {
	case o.LateShare == 0:
		o.LateShare = 0.03
	case o.LateShare < 0:
		o.LateShare = 0
	}
	switch {
	case o.DuplicateShare == 0:
		o.DuplicateShare = 0.002
	case o.DuplicateShare < 0:
		o.DuplicateShare = 0
	}
}

// Write writes a tree of log files holding about size decompressed bytes under dir (which gets
// an AWSLogs directory). Files are compressed on every core; the bytes do not depend on it.
func Write(dir string, size int64, o Options) (Stats, error) {
	o.defaults()
	g := newGen(o)
	w := newWriter(dir)
	var st Stats
	st.First = o.Start
	digests := make([][]*digestFile, len(g.streams)) // per stream, in time order
	planted := o.NoIncidents
	var ws time.Time
	for ws = o.Start; ; ws = ws.Add(window) {
		last := st.Bytes >= size // the records held back for one more file
		for si, s := range g.streams {
			var recs []rec
			if !last {
				recs = g.window(s, ws)
				if !planted && si == 0 && st.Bytes >= size/2 {
					planted = true
					recs = append(recs, g.incident(s, ws, &st)...)
				}
			}
			recs = g.deliver(s, recs, &st)
			delivery := ws.Add(window).Add(time.Duration(60+g.r.IntN(180)) * time.Second)
			for len(recs) > 0 {
				n := min(len(recs), maxPerFile)
				f := g.logFile(s, delivery, recs[:n])
				recs = recs[n:]
				st.Files++
				st.Records += n
				st.Bytes += int64(len(f.data))
				hour := delivery.Truncate(time.Hour)
				d := lastDigest(digests[si])
				if d == nil || !d.hour.Equal(hour) {
					d = &digestFile{stream: s, hour: hour}
					digests[si] = append(digests[si], d)
				}
				d.logs = append(d.logs, f)
				w.submit(f)
			}
		}
		if last {
			break
		}
	}
	st.Last = ws
	if err := w.wait(); err != nil {
		return st, err
	}
	for _, ds := range digests {
		for _, d := range ds {
			for _, l := range d.logs {
				st.Compressed += l.stored
			}
		}
	}
	// Digests chain: each names the hash of the one before, so they are written in order.
	for _, ds := range digests {
		var prev *job
		for _, d := range ds {
			j := g.digest(d, prev)
			if err := j.write(w.dir); err != nil {
				return st, err
			}
			st.Digests++
			st.DigestBytes += j.stored
			prev = j
		}
	}
	return st, nil
}

func lastDigest(ds []*digestFile) *digestFile {
	if len(ds) == 0 {
		return nil
	}
	return ds[len(ds)-1]
}

// LookupSources keeps the records of the event sources vaultsentry asks LookupEvents for.
func LookupSources(source string) bool { return source == srcSM || source == srcCT }

// Records returns n records, as generated for the accounts and regions of o (without the
// incident, late deliveries or duplicates), of the event sources keep accepts (nil: all).
func Records(n int, o Options, keep func(source string) bool) [][]byte {
	o.defaults()
	o.NoIncidents = true
	g := newGen(o)
	out := make([][]byte, 0, n)
	for ws := o.Start; ; ws = ws.Add(window) {
		for _, s := range g.streams {
			for _, r := range g.window(s, ws) {
				if keep != nil && !keep(r.source) {
					continue
				}
				out = append(out, r.data)
				if len(out) == n {
					return out
				}
			}
		}
	}
}

// job is one file to compress and write.
type job struct {
	path   string // relative to the tree's root
	data   []byte
	stored int64
	sum    [32]byte
	oldest time.Time
	newest time.Time
}

func (j *job) write(dir string) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	zw.Write(j.data)
	if err := zw.Close(); err != nil {
		return err
	}
	j.sum = sha256.Sum256(buf.Bytes())
	j.stored = int64(buf.Len())
	p := filepath.Join(dir, filepath.FromSlash(j.path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	j.data = nil
	return nil
}

// writer compresses and writes log files on every core.
type writer struct {
	dir  string
	jobs chan *job
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
}

func newWriter(dir string) *writer {
	w := &writer{dir: dir, jobs: make(chan *job, 64)}
	for range runtime.GOMAXPROCS(0) {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for j := range w.jobs {
				if err := j.write(dir); err != nil {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
				}
			}
		}()
	}
	return w
}

func (w *writer) submit(j *job) { w.jobs <- j }

func (w *writer) wait() error {
	close(w.jobs)
	w.wg.Wait()
	return w.err
}

type digestFile struct {
	stream *stream
	hour   time.Time
	logs   []*job
}

// Event sources.
const (
	srcSM  = "secretsmanager.amazonaws.com"
	srcCT  = "cloudtrail.amazonaws.com"
	srcKMS = "kms.amazonaws.com"
	srcSTS = "sts.amazonaws.com"
)

type secret struct {
	name    string
	arn     string
	key     string // ARN of the customer key; "" for the AWS managed key
	version string
}

// Workload kinds.
const (
	kindEKS = iota
	kindEC2
	kindLambda
	kindECS
)

type workload struct {
	kind     int
	role     string // role name
	roleID   string // AROA...
	ip       string
	ua       string
	secrets  []int
	weight   float64
	session  string
	key      string
	created  time.Time
	identity []byte // rendered userIdentity of the current session
	ns, sa   string // EKS namespace and service account
}

type person struct {
	name, role, roleID, ip string
	key                    string
	identity               []byte
	created                time.Time
}

type iamUser struct {
	name, id, key, ip, ua string
	identity              []byte
	secrets               []int
}

type stream struct {
	account, region string
	oidc            string // EKS OIDC provider id
	secrets         []secret
	workloads       []*workload
	cum             []float64
	people          []*person
	users           []*iamUser
	config          []byte // AWS Config's service-linked role identity
	sync            *workload
	rotators        []*workload
	vpce            string
	carry           []rec // records delivered with the next file
}

// rec is one rendered record.
type rec struct {
	data   []byte
	source string
	time   time.Time
}

type gen struct {
	o       Options
	r       *rand.Rand
	streams []*stream
	b       []byte // scratch
}

var (
	teams = []string{"payments", "ledger", "risk", "onboarding", "treasury", "platform", "identity", "search", "notify",
		"merchant", "mobile", "web", "data", "reporting", "fx", "cards", "dispute", "payout", "kyc", "fraud", "billing",
		"statements", "support", "partners", "compliance", "sre", "security", "growth", "pricing", "checkout"}
	secretNames = []string{"postgres-app", "postgres-ro", "config", "api-key", "oauth-client", "redis-auth", "kafka-sasl", "s3-archive",
		"smtp", "webhook-secret", "signing-key", "tls", "sentry-dsn", "datadog", "rabbitmq", "provider-key", "jwt-secret",
		"encryption-key", "sftp", "ldap-bind", "opensearch", "psp-gateway", "swift", "ebics", "twilio"}
	firstNames = []string{"maria", "liam", "aoife", "sean", "niamh", "conor", "ana", "jose", "li", "sara", "ciaran", "emma"}
	lastNames  = []string{"byrne", "kelly", "walsh", "silva", "chen", "murphy", "ryan", "garcia", "okafor", "novak"}
	sdkAgents  = []string{
		"aws-sdk-go-v2/1.30.4 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64 api/secretsmanager#1.32.6",
		"aws-sdk-java/2.25.61 Linux/5.10.223-211.872.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
		"Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.224-233.882.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.5 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.145",
		"aws-sdk-nodejs/2.1659.0 linux/v20.15.1 exec-env/AWS_ECS_FARGATE promise",
		"aws-sdk-go/1.55.5 (go1.22.7; linux; amd64)",
	}
	lambdaAgent = "Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.224-233.882.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.5 exec-env/AWS_Lambda_python3.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.145"
	cliAgent    = "aws-cli/2.17.40 md/awscrt#0.21.2 ua/2.0 os/linux#6.8.0-41-generic md/arch#x86_64 lang/python#3.12.5 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#secretsmanager.get-secret-value"
	permSets    = []string{"PlatformAdmin", "Developer", "ReadOnly", "SecurityAudit"}
	// Other services' management calls a workload makes (they are in the same files).
	otherCalls = [][2]string{
		{"autoscaling.amazonaws.com", "DescribeAutoScalingGroups"}, {"ec2.amazonaws.com", "DescribeInstances"},
		{"ecr.amazonaws.com", "GetAuthorizationToken"}, {"eks.amazonaws.com", "DescribeCluster"},
		{"logs.amazonaws.com", "CreateLogStream"}, {"kms.amazonaws.com", "GenerateDataKey"},
		{"sqs.amazonaws.com", "GetQueueAttributes"}, {"ssm.amazonaws.com", "GetParameter"},
		{"elasticloadbalancing.amazonaws.com", "DescribeTargetHealth"}, {"monitoring.amazonaws.com", "PutMetricData"},
	}
)

func newGen(o Options) *gen {
	g := &gen{o: o, r: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))}
	for a := 0; a < o.Accounts; a++ {
		account := strconv.FormatUint(100000000000+g.r.Uint64N(899999999999), 10)
		for _, region := range o.Regions {
			g.streams = append(g.streams, g.newStream(account, region))
		}
	}
	return g
}

const (
	upper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upperD  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	hexDigs = "0123456789abcdef"
)

func (g *gen) chars(set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[g.r.IntN(len(set))]
	}
	return string(b)
}

func (g *gen) uuid(b []byte) []byte {
	for i, n := range []int{8, 4, 4, 4, 12} {
		if i > 0 {
			b = append(b, '-')
		}
		v := g.r.Uint64()
		for k := 0; k < n; k++ {
			b = append(b, hexDigs[v&15])
			v >>= 4
		}
	}
	return b
}

func (g *gen) privateIP() string {
	return fmt.Sprintf("10.%d.%d.%d", 40+g.r.IntN(8), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g *gen) newStream(account, region string) *stream {
	s := &stream{account: account, region: region, oidc: strings.ToUpper(g.chars(hexDigs, 32)),
		vpce: "vpce-0" + g.chars(hexDigs, 16)}
	var keys []string
	for range 6 {
		keys = append(keys, "arn:aws:kms:"+region+":"+account+":key/"+string(g.uuid(nil)))
	}
	seen := map[string]bool{}
	for len(s.secrets) < g.o.Secrets {
		env := []string{"prod", "prod", "prod", "staging", "dev"}[g.r.IntN(5)]
		name := env + "/" + teams[g.r.IntN(len(teams))] + "/" + secretNames[g.r.IntN(len(secretNames))]
		if seen[name] {
			name += "-" + strconv.Itoa(g.r.IntN(100))
			if seen[name] {
				continue
			}
		}
		seen[name] = true
		s.secrets = append(s.secrets, secret{name: name,
			arn:     "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + name + "-" + g.chars(alnum, 6),
			version: string(g.uuid(nil))})
		if g.r.IntN(10) < 4 {
			s.secrets[len(s.secrets)-1].key = keys[g.r.IntN(len(keys))]
		}
	}
	total := 0.0
	for i := 0; i < g.o.Workloads; i++ {
		team := teams[g.r.IntN(len(teams))]
		app := team + "-" + []string{"api", "worker", "svc", "batch", "gw", "consumer"}[g.r.IntN(6)]
		w := &workload{role: "kp-prod-" + app + strconv.Itoa(i), roleID: "AROA" + g.chars(upperD, 17), ip: g.privateIP(),
			ua: sdkAgents[g.r.IntN(len(sdkAgents))], ns: team, sa: app}
		switch x := g.r.IntN(100); {
		case x < 60:
			w.kind = kindEKS
			if g.r.IntN(4) == 0 {
				w.ip = fmt.Sprintf("2a05:d018:%x:%x:%x:%x:%x:%x", g.r.IntN(0xfff), g.r.IntN(0xffff), g.r.IntN(0xffff),
					g.r.IntN(0xffff), g.r.IntN(0xffff), g.r.IntN(0xffff))
			}
		case x < 80:
			w.kind = kindEC2
		case x < 90:
			w.kind = kindLambda
			w.ua = lambdaAgent
		default:
			w.kind = kindECS
		}
		for k := 2 + g.r.IntN(7); k > 0; k-- {
			w.secrets = append(w.secrets, g.pickSecret(len(s.secrets)))
		}
		w.weight = 1 / math.Pow(float64(i+1), 0.7) // a few services make most of the calls
		total += w.weight
		s.workloads = append(s.workloads, w)
	}
	acc := 0.0
	for _, w := range s.workloads {
		acc += w.weight / total
		s.cum = append(s.cum, acc)
	}
	for i := 0; i < 12; i++ {
		name := firstNames[g.r.IntN(len(firstNames))] + "." + lastNames[g.r.IntN(len(lastNames))]
		perm := permSets[g.r.IntN(len(permSets))]
		s.people = append(s.people, &person{name: name,
			role:   "AWSReservedSSO_" + perm + "_" + g.chars(hexDigs, 16),
			roleID: "AROA" + g.chars(upperD, 17), ip: fmt.Sprintf("198.51.100.%d", 1+g.r.IntN(254))})
	}
	for i := 0; i < 6; i++ {
		u := &iamUser{name: "svc-" + teams[g.r.IntN(len(teams))] + "-export", id: "AIDA" + g.chars(upperD, 17),
			key: "AKIA" + g.chars(upperD, 16), ip: fmt.Sprintf("212.129.%d.%d", 64+g.r.IntN(32), 1+g.r.IntN(254)),
			ua: sdkAgents[1+g.r.IntN(2)]}
		for k := 1 + g.r.IntN(4); k > 0; k-- {
			u.secrets = append(u.secrets, g.pickSecret(len(s.secrets)))
		}
		u.identity = fmt.Appendf(nil, `{"type":"IAMUser","principalId":"%s","arn":"arn:aws:iam::%s:user/%s","accountId":"%s","accessKeyId":"%s","userName":"%s"}`,
			u.id, account, u.name, account, u.key, u.name)
		s.users = append(s.users, u)
	}
	cfgID := "AROA" + g.chars(upperD, 17)
	s.config = fmt.Appendf(nil, `{"type":"AssumedRole","principalId":"%s:AWSConfig-Describe","arn":"arn:aws:sts::%s:assumed-role/AWSServiceRoleForConfig/AWSConfig-Describe","accountId":"%s","accessKeyId":"ASIA%s","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"%s","arn":"arn:aws:iam::%s:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig","accountId":"%s","userName":"AWSServiceRoleForConfig"},"attributes":{"creationDate":"2026-09-20T23:10:00Z","mfaAuthenticated":"false"}},"invokedBy":"config.amazonaws.com"}`,
		cfgID, account, account, g.chars(upperD, 16), cfgID, account, account)
	s.sync = &workload{kind: kindEKS, role: "kp-prod-secret-sync", roleID: "AROA" + g.chars(upperD, 17), ip: g.privateIP(),
		ua: sdkAgents[0], ns: "external-secrets", sa: "external-secrets"}
	for k := 10 + g.r.IntN(11); k > 0; k-- {
		s.sync.secrets = append(s.sync.secrets, g.pickSecret(len(s.secrets)))
	}
	for _, kind := range []string{"postgres", "redis"} {
		s.rotators = append(s.rotators, &workload{kind: kindLambda, role: "kp-rotation-" + kind, roleID: "AROA" + g.chars(upperD, 17),
			ip: g.privateIP(), ua: lambdaAgent})
	}
	return s
}

// pickSecret favours the first 100 secrets (shared ones, read by many services).
func (g *gen) pickSecret(n int) int {
	if g.r.IntN(4) == 0 {
		return g.r.IntN(min(n, 100))
	}
	return g.r.IntN(n)
}

func (g *gen) pick(s *stream) *workload {
	i, _ := slices.BinarySearch(s.cum, g.r.Float64())
	return s.workloads[min(i, len(s.workloads)-1)]
}

// session renews a workload's session every hour of log time; an EKS pod's renewal is an
// AssumeRoleWithWebIdentity record.
func (g *gen) session(s *stream, w *workload, t time.Time, out []rec) []rec {
	if w.identity != nil && t.Sub(w.created) < time.Hour {
		return out
	}
	w.created = t.Add(-time.Duration(g.r.IntN(30)) * time.Second)
	w.key = "ASIA" + g.chars(upperD, 16)
	switch w.kind {
	case kindEKS:
		w.session = "aws-go-sdk-" + strconv.FormatInt(w.created.UnixNano()+int64(g.r.IntN(1e6)), 10)
	case kindEC2:
		w.session = "i-0" + g.chars(hexDigs, 16)
	case kindLambda:
		w.session = w.role + "-fn"
	default:
		w.session = g.chars(hexDigs, 32)
	}
	created := w.created.Format(time.RFC3339)
	extra := ""
	switch w.kind {
	case kindEKS:
		extra = fmt.Sprintf(`,"webIdFederationData":{"federatedProvider":"arn:aws:iam::%s:oidc-provider/oidc.eks.%s.amazonaws.com/id/%s","attributes":{}}`, s.account, s.region, s.oidc)
	case kindEC2:
		extra = `,"ec2RoleDelivery":"2.0"`
	}
	w.identity = fmt.Appendf(w.identity[:0], `{"type":"AssumedRole","principalId":"%s:%s","arn":"arn:aws:sts::%s:assumed-role/%s/%s","accountId":"%s","accessKeyId":"%s","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"%s","arn":"arn:aws:iam::%s:role/%s","accountId":"%s","userName":"%s"},"attributes":{"creationDate":"%s","mfaAuthenticated":"false"}%s}}`,
		w.roleID, w.session, s.account, w.role, w.session, s.account, w.key, w.roleID, s.account, w.role, s.account, w.role, created, extra)
	if w.kind != kindEKS {
		return out
	}
	provider := fmt.Sprintf("oidc.eks.%s.amazonaws.com/id/%s", s.region, s.oidc)
	subject := "system:serviceaccount:" + w.ns + ":" + w.sa
	ident := fmt.Sprintf(`{"type":"WebIdentityUser","principalId":"%s:sts.amazonaws.com:%s","userName":"%s","identityProvider":"arn:aws:iam::%s:oidc-provider/%s"}`,
		provider, subject, subject, s.account, provider)
	params := fmt.Sprintf(`{"roleArn":"arn:aws:iam::%s:role/%s","roleSessionName":"%s","durationSeconds":3600}`, s.account, w.role, w.session)
	resp := fmt.Sprintf(`{"credentials":{"accessKeyId":"%s","sessionToken":"IQoJb3JpZ2luX2VjE%s","expiration":"%s"},"subjectFromWebIdentityToken":"%s","assumedRoleUser":{"assumedRoleId":"%s:%s","arn":"arn:aws:sts::%s:assumed-role/%s/%s"},"provider":"%s","audience":"sts.amazonaws.com"}`,
		w.key, g.chars(alnum, 40), w.created.Add(time.Hour).Format("Jan 2, 2006, 3:04:05 PM"), subject, w.roleID, w.session, s.account, w.role, w.session, provider)
	return append(out, g.record(s, call{t: w.created, ident: []byte(ident), source: srcSTS, name: "AssumeRoleWithWebIdentity",
		ip: w.ip, ua: "aws-sdk-go-v2/1.30.4 os/linux lang/go#1.22.6 api/sts#1.30.7", params: params, resp: resp,
		host: "sts." + s.region + ".amazonaws.com"}))
}

func (g *gen) personSession(s *stream, p *person, t time.Time) {
	if p.identity != nil && t.Sub(p.created) < 8*time.Hour {
		return
	}
	p.created = t.Add(-time.Duration(g.r.IntN(600)) * time.Second)
	p.key = "ASIA" + g.chars(upperD, 16)
	p.identity = fmt.Appendf(p.identity[:0], `{"type":"AssumedRole","principalId":"%s:%s","arn":"arn:aws:sts::%s:assumed-role/%s/%s","accountId":"%s","accessKeyId":"%s","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"%s","arn":"arn:aws:iam::%s:role/aws-reserved/sso.amazonaws.com/%s/%s","accountId":"%s","userName":"%s"},"attributes":{"creationDate":"%s","mfaAuthenticated":"false"}}}`,
		p.roleID, p.name, s.account, p.role, p.name, s.account, p.key, p.roleID, s.account, homeRegion, p.role, s.account, p.role, p.created.Format(time.RFC3339))
}

// call is what a record says; record renders it in CloudTrail's field order.
type call struct {
	t            time.Time
	ident        []byte
	source, name string
	ip, ua       string
	params       string // JSON object, or "" for null
	resp         string // JSON object, or "" for null
	errCode      string
	errMsg       string
	write        bool   // readOnly false
	service      bool   // AwsServiceEvent
	resources    string // JSON array, or ""
	host         string // tlsDetails.clientProvidedHostHeader, or "" for none
	vpce         bool
	console      bool
	additional   string // additionalEventData JSON, or ""
}

func (g *gen) record(s *stream, c call) rec {
	b := g.b[:0]
	b = append(b, `{"eventVersion":"1.`...)
	b = append(b, []string{"08", "09", "10", "10", "10"}[g.r.IntN(5)]...)
	b = append(b, `","userIdentity":`...)
	b = append(b, c.ident...)
	b = append(b, `,"eventTime":"`...)
	b = c.t.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `","eventSource":"`...)
	b = append(b, c.source...)
	b = append(b, `","eventName":"`...)
	b = append(b, c.name...)
	b = append(b, `","awsRegion":"`...)
	b = append(b, s.region...)
	b = append(b, `","sourceIPAddress":"`...)
	b = append(b, c.ip...)
	b = append(b, `","userAgent":"`...)
	b = append(b, c.ua...)
	b = append(b, `","requestParameters":`...)
	b = appendOrNull(b, c.params)
	b = append(b, `,"responseElements":`...)
	b = appendOrNull(b, c.resp)
	if c.errCode != "" {
		b = append(b, `,"errorCode":"`...)
		b = append(b, c.errCode...)
		b = append(b, `","errorMessage":"`...)
		b = append(b, c.errMsg...)
		b = append(b, '"')
	}
	if c.additional != "" {
		b = append(b, `,"additionalEventData":`...)
		b = append(b, c.additional...)
	}
	b = append(b, `,"requestID":"`...)
	b = g.uuid(b)
	b = append(b, `","eventID":"`...)
	b = g.uuid(b)
	b = append(b, `","readOnly":`...)
	b = strconv.AppendBool(b, !c.write)
	b = append(b, `,"eventType":"`...)
	if c.service {
		b = append(b, "AwsServiceEvent"...)
	} else {
		b = append(b, "AwsApiCall"...)
	}
	b = append(b, `","managementEvent":true,"recipientAccountId":"`...)
	b = append(b, s.account...)
	b = append(b, '"')
	if c.resources != "" {
		b = append(b, `,"resources":`...)
		b = append(b, c.resources...)
	}
	b = append(b, `,"eventCategory":"Management"`...)
	if c.host != "" {
		b = append(b, `,"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"`...)
		b = append(b, c.host...)
		b = append(b, `"}`...)
	}
	if c.vpce {
		b = append(b, `,"vpcEndpointId":"`...)
		b = append(b, s.vpce...)
		b = append(b, `","vpcEndpointAccountId":"`...)
		b = append(b, s.account...)
		b = append(b, '"')
	}
	if c.console {
		b = append(b, `,"sessionCredentialFromConsole":"true"`...)
	}
	b = append(b, '}')
	g.b = b
	return rec{data: bytes.Clone(b), source: c.source, time: c.t}
}

func appendOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return append(b, s...)
}

func smHost(s *stream) string { return "secretsmanager." + s.region + ".amazonaws.com" }

// secretRef is how a caller names a secret: its name mostly, its full ARN sometimes.
func (g *gen) secretRef(sec *secret) string {
	if g.r.IntN(10) < 3 {
		return sec.arn
	}
	return sec.name
}

func secretResources(s *stream, sec *secret) string {
	return `[{"accountId":"` + s.account + `","type":"AWS::SecretsManager::Secret","ARN":"` + sec.arn + `"}]`
}

// getSecretValue renders a read and, for a secret under a customer key, the Decrypt Secrets
// Manager makes for the caller.
func (g *gen) getSecretValue(s *stream, ident []byte, ip, ua string, t time.Time, sec *secret, vpce bool, out []rec) []rec {
	out = append(out, g.record(s, call{t: t, ident: ident, source: srcSM, name: "GetSecretValue", ip: ip, ua: ua,
		params: `{"secretId":"` + g.secretRef(sec) + `"}`, resources: secretResources(s, sec), host: smHost(s), vpce: vpce}))
	if sec.key != "" {
		kmsIdent := append(bytes.TrimSuffix(slices.Clone(ident), []byte("}")), `,"invokedBy":"secretsmanager.amazonaws.com"}`...)
		out = append(out, g.record(s, call{t: t.Add(time.Duration(g.r.IntN(2)) * time.Second), ident: kmsIdent, source: srcKMS,
			name: "Decrypt", ip: "secretsmanager.amazonaws.com", ua: "secretsmanager.amazonaws.com",
			params:    `{"encryptionContext":{"SecretARN":"` + sec.arn + `","SecretVersionId":"` + sec.version + `"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}`,
			resources: `[{"accountId":"` + s.account + `","type":"AWS::KMS::Key","ARN":"` + sec.key + `"}]`}))
	}
	return out
}

// window renders the records of one account and region with event times in [ws, ws+5m).
func (g *gen) window(s *stream, ws time.Time) []rec {
	hour := float64(ws.Hour()) + float64(ws.Minute())/60
	diurnal := 1 + 0.45*math.Sin((hour-9)/24*2*math.Pi) // busier in the European day
	mean := g.o.Rate * window.Seconds() * diurnal
	n := int(math.Round(mean + math.Sqrt(mean)*g.r.NormFloat64()))
	var out []rec
	at := func() time.Time { return ws.Add(time.Duration(g.r.Int64N(int64(window)))) }
	for len(out) < n {
		t := at()
		switch x := g.r.IntN(1000); {
		case x < 640: // a workload reads one of its secrets
			w := g.pick(s)
			out = g.session(s, w, t, out)
			sec := &s.secrets[w.secrets[g.r.IntN(len(w.secrets))]]
			out = g.getSecretValue(s, w.identity, w.ip, w.ua, t, sec, w.kind == kindEKS, out)
		case x < 720:
			w := g.pick(s)
			out = g.session(s, w, t, out)
			sec := &s.secrets[w.secrets[g.r.IntN(len(w.secrets))]]
			out = append(out, g.record(s, call{t: t, ident: w.identity, source: srcSM, name: "DescribeSecret", ip: w.ip, ua: w.ua,
				params: `{"secretId":"` + g.secretRef(sec) + `"}`, host: smHost(s), vpce: w.kind == kindEKS}))
		case x < 860: // other services
			w := g.pick(s)
			out = g.session(s, w, t, out)
			oc := otherCalls[g.r.IntN(len(otherCalls))]
			out = append(out, g.record(s, call{t: t, ident: w.identity, source: oc[0], name: oc[1], ip: w.ip, ua: w.ua,
				params: `{"maxRecords":100}`, host: strings.TrimSuffix(oc[0], ".amazonaws.com") + "." + s.region + ".amazonaws.com"}))
		case x < 872: // the secret sync operator: one batch, and the GetSecretValue AWS writes per secret
			w := s.sync
			out = g.session(s, w, t, out)
			ids := make([]string, len(w.secrets))
			for i, si := range w.secrets {
				ids[i] = `"` + s.secrets[si].name + `"`
			}
			out = append(out, g.record(s, call{t: t, ident: w.identity, source: srcSM, name: "BatchGetSecretValue", ip: w.ip, ua: w.ua,
				params: `{"secretIdList":[` + strings.Join(ids, ",") + `]}`, host: smHost(s), vpce: true}))
			for _, si := range w.secrets {
				out = g.getSecretValue(s, w.identity, w.ip, w.ua, t.Add(time.Duration(g.r.IntN(2))*time.Second), &s.secrets[si], true, out)
			}
		case x < 902: // AWS Config inventory
			name, params := "ListSecrets", `{"maxResults":100}`
			if g.r.IntN(3) > 0 {
				name, params = "DescribeSecret", `{"secretId":"`+s.secrets[g.r.IntN(len(s.secrets))].arn+`"}`
			}
			out = append(out, g.record(s, call{t: t, ident: s.config, source: srcSM, name: name, ip: "config.amazonaws.com",
				ua: "config.amazonaws.com", params: params}))
		case x < 922: // people on the console
			p := s.people[g.r.IntN(len(s.people))]
			g.personSession(s, p, t)
			c := call{t: t, ident: p.identity, source: srcSM, ip: p.ip, ua: "AWS Internal", host: smHost(s), console: true}
			switch y := g.r.IntN(10); {
			case y < 4:
				c.name, c.params = "ListSecrets", `{"maxResults":100}`
				if y == 0 {
					c.params = `{"filters":[{"key":"name","values":["prod/` + teams[g.r.IntN(len(teams))] + `"]}],"maxResults":100}`
				}
				out = append(out, g.record(s, c))
			case y < 8:
				sec := &s.secrets[g.r.IntN(len(s.secrets))]
				c.name, c.params = "DescribeSecret", `{"secretId":"`+sec.arn+`"}`
				out = append(out, g.record(s, c))
			default:
				out = g.getSecretValue(s, p.identity, p.ip, c.ua, t, &s.secrets[g.pickSecret(len(s.secrets))], false, out)
			}
		case x < 952: // IAM users with long-term keys, on premises
			u := s.users[g.r.IntN(len(s.users))]
			out = g.getSecretValue(s, u.identity, u.ip, u.ua, t, &s.secrets[u.secrets[g.r.IntN(len(u.secrets))]], false, out)
		case x < 972: // a workload tries a secret it may not read
			w := g.pick(s)
			out = g.session(s, w, t, out)
			sec := &s.secrets[g.r.IntN(len(s.secrets))]
			out = append(out, g.record(s, call{t: t, ident: w.identity, source: srcSM, name: "GetSecretValue", ip: w.ip, ua: w.ua,
				params:  `{"secretId":"` + sec.arn + `"}`,
				errCode: "AccessDenied",
				errMsg: "User: arn:aws:sts::" + s.account + ":assumed-role/" + w.role + "/" + w.session +
					" is not authorized to perform: secretsmanager:GetSecretValue on resource: " + sec.arn +
					" because no identity-based policy allows the secretsmanager:GetSecretValue action",
				host: smHost(s)}))
		case x < 990: // other Secrets Manager calls
			w := g.pick(s)
			out = g.session(s, w, t, out)
			sec := &s.secrets[w.secrets[g.r.IntN(len(w.secrets))]]
			c := call{t: t, ident: w.identity, source: srcSM, ip: w.ip, ua: w.ua, host: smHost(s),
				params: `{"secretId":"` + g.secretRef(sec) + `"}`}
			switch g.r.IntN(3) {
			case 0:
				c.name = "GetResourcePolicy"
			case 1:
				c.name = "ListSecretVersionIds"
			default:
				c.name, c.params = "GetRandomPassword", `{"passwordLength":32,"excludePunctuation":true}`
			}
			out = append(out, g.record(s, c))
		default: // a rotation
			out = g.rotation(s, t, out)
		}
	}
	return out
}

func (g *gen) rotation(s *stream, t time.Time, out []rec) []rec {
	w := s.rotators[g.r.IntN(len(s.rotators))]
	out = g.session(s, w, t, out)
	sec := &s.secrets[g.r.IntN(len(s.secrets))]
	svc := []byte(`{"accountId":"` + s.account + `","invokedBy":"secretsmanager.amazonaws.com"}`)
	additional := `{"SecretId":"` + sec.arn + `"}`
	service := func(t time.Time, name string) rec {
		return g.record(s, call{t: t, ident: svc, source: srcSM, name: name, ip: "secretsmanager.amazonaws.com",
			ua: "secretsmanager.amazonaws.com", write: true, service: true, additional: additional})
	}
	old, next := sec.version, string(g.uuid(nil))
	out = append(out, service(t, "RotationStarted"))
	out = append(out, g.record(s, call{t: t.Add(2 * time.Second), ident: w.identity, source: srcSM, name: "PutSecretValue", ip: w.ip, ua: w.ua,
		params: `{"secretId":"` + sec.arn + `","clientRequestToken":"` + next + `","versionStages":["AWSPENDING"]}`,
		resp:   `{"arn":"` + sec.arn + `","name":"` + sec.name + `","versionId":"` + next + `","versionStages":["AWSPENDING"]}`,
		write:  true, host: smHost(s), vpce: true}))
	out = append(out, g.record(s, call{t: t.Add(6 * time.Second), ident: w.identity, source: srcSM, name: "UpdateSecretVersionStage", ip: w.ip, ua: w.ua,
		params: `{"secretId":"` + sec.arn + `","versionStage":"AWSCURRENT","moveToVersionId":"` + next + `","removeFromVersionId":"` + old + `"}`,
		resp:   `{"arn":"` + sec.arn + `","name":"` + sec.name + `"}`,
		write:  true, host: smHost(s), vpce: true}))
	sec.version = next
	return append(out, service(t.Add(7*time.Second), "RotationSucceeded"))
}

// incident plants a stolen IAM user key harvesting secrets from outside, then stopping the trail.
func (g *gen) incident(s *stream, ws time.Time, st *Stats) []rec {
	u := s.users[0]
	ip := "185.220.101.47"
	t := ws.Add(30 * time.Second)
	var out []rec
	for i := 0; i < 3; i++ {
		out = append(out, g.record(s, call{t: t.Add(time.Duration(i) * 10 * time.Second), ident: u.identity, source: srcSM, name: "ListSecrets",
			ip: ip, ua: strings.Replace(cliAgent, "get-secret-value", "list-secrets", 1), params: `{"maxResults":100}`, host: smHost(s)}))
	}
	const reads = 120
	for i := 0; i < reads; i++ {
		sec := &s.secrets[(i*7)%len(s.secrets)]
		out = g.getSecretValue(s, u.identity, ip, cliAgent, t.Add(40*time.Second+time.Duration(i)*2*time.Second), sec, false, out)
	}
	end := t.Add(40*time.Second + reads*2*time.Second + 5*time.Second)
	out = append(out, g.record(s, call{t: end, ident: u.identity, source: srcCT, name: "StopLogging", ip: ip,
		ua: strings.Replace(cliAgent, "secretsmanager.get-secret-value", "cloudtrail.stop-logging", 1), write: true,
		params: `{"name":"arn:aws:cloudtrail:` + homeRegion + `:` + s.account + `:trail/` + trail + `"}`,
		host:   "cloudtrail." + s.region + ".amazonaws.com"}))
	st.Planted = append(st.Planted,
		fmt.Sprintf("account %s %s: IAM user %s (key %s) from %s lists secrets 3 times, reads %d secrets %s..%s, then stops the trail",
			s.account, s.region, u.name, u.key, ip, reads, t.Format(time.RFC3339), end.Format(time.RFC3339)))
	return out
}

// deliver makes the records of one file: those carried from the previous window, this window's
// (some held back for the next file, some copied into it too), in no particular order.
func (g *gen) deliver(s *stream, recs []rec, st *Stats) []rec {
	out := s.carry
	s.carry = nil
	for _, r := range recs {
		x := g.r.Float64()
		switch {
		case x < g.o.LateShare:
			s.carry = append(s.carry, r)
			continue
		case x < g.o.LateShare+g.o.DuplicateShare:
			s.carry = append(s.carry, r)
			st.Duplicates++
		}
		out = append(out, r)
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// logFile renders one log file of recs delivered at delivery.
func (g *gen) logFile(s *stream, delivery time.Time, recs []rec) *job {
	n := 12
	for _, r := range recs {
		n += len(r.data) + 1
	}
	data := make([]byte, 0, n)
	data = append(data, `{"Records":[`...)
	j := &job{}
	for i, r := range recs {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, r.data...)
		if j.oldest.IsZero() || r.time.Before(j.oldest) {
			j.oldest = r.time
		}
		if r.time.After(j.newest) {
			j.newest = r.time
		}
	}
	j.data = append(data, `]}`...)
	day := delivery.Format("2006/01/02")
	j.path = fmt.Sprintf("AWSLogs/%s/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", orgID, s.account, s.region, day,
		s.account, s.region, delivery.Format("20060102T1504Z"), g.chars(alnum, 16))
	return j
}

// digest renders the digest of one hour of one account and region.
func (g *gen) digest(d *digestFile, prev *job) *job {
	s := d.stream
	end := d.hour.Add(time.Hour + 12*time.Second)
	path := fmt.Sprintf("AWSLogs/%s/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz", orgID, s.account, s.region,
		end.Format("2006/01/02"), s.account, s.region, trail, homeRegion, end.Format("20060102T150405Z"))
	var oldest, newest time.Time
	for _, l := range d.logs {
		if oldest.IsZero() || l.oldest.Before(oldest) {
			oldest = l.oldest
		}
		if l.newest.After(newest) {
			newest = l.newest
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"awsAccountId":"%s","digestStartTime":"%s","digestEndTime":"%s","digestS3Bucket":"%s","digestS3Object":"%s","digestPublicKeyFingerprint":"%s","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":"%s","oldestEventTime":"%s",`,
		s.account, end.Add(-time.Hour).Format(time.RFC3339), end.Format(time.RFC3339), bucket, path, g.chars(hexDigs, 32),
		newest.Format(time.RFC3339), oldest.Format(time.RFC3339))
	if prev == nil {
		b.WriteString(`"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,`)
	} else {
		fmt.Fprintf(&b, `"previousDigestS3Bucket":"%s","previousDigestS3Object":"%s","previousDigestHashValue":"%s","previousDigestHashAlgorithm":"SHA-256","previousDigestSignature":"%s",`,
			bucket, prev.path, hex.EncodeToString(prev.sum[:]), g.chars(hexDigs, 512))
	}
	b.WriteString(`"logFiles":[`)
	for i, l := range d.logs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"s3Bucket":"%s","s3Object":"%s","hashValue":"%s","hashAlgorithm":"SHA-256","newestEventTime":"%s","oldestEventTime":"%s"}`,
			bucket, l.path, hex.EncodeToString(l.sum[:]), l.newest.Format(time.RFC3339), l.oldest.Format(time.RFC3339))
	}
	b.WriteString(`]}`)
	return &job{path: path, data: b.Bytes()}
}
