// Package loggen writes realistic, deterministic Vault file-audit logs for benchmarks and
// performance tests (scripts/loggen is its command line; the benchmarks of sources, analyze,
// report and cmd generate small logs in-process with it).
//
// A log has thousands of identities and tens of thousands of paths, a request and a response
// entry per request (responses sometimes interleaved behind later requests, as with concurrent
// clients), the field sets of Vault 1.20 (auth with policies, policy_results, metadata, request
// with mount fields, client_id, headers, response bodies with HMAC'd strings and plain
// numbers), some large response bodies (KV secrets holding arrays of numbers, which Vault does
// not HMAC), periodic fixed-set reads by secret operators, and a few planted incidents:
//
//   - a stolen Kubernetes token harvesting 150 distinct secrets in 4 minutes from an external
//     address, while the pod keeps using it from inside (bulk-read, dual-source-ip);
//   - a root token from an external address creating an orphan root token and disabling an
//     audit device (privileged-token, audit-disabled);
//   - a burst of permission-denied reads over many paths (denied-burst, enumeration).
//
// The same options always give the same bytes. Shapes follow ../shared/corpus/SHAPES.md.
package loggen

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options shape a log. The zero value of a field means its default.
type Options struct {
	Seed        uint64    // default 7
	Identities  int       // default 3000
	Paths       int       // secret paths, default 30000
	Rate        float64   // mean requests per second of log time, default 40
	Start       time.Time // log time of the first entry, default 2026-09-21T06:00:00Z
	HotShare    float64   // fraction of requests made by one token (linearity checks)
	UniqueShare float64   // fraction of requests that read a path never read before (one backup token)
	Compact     bool      // request entries only, with the fewest fields: the most events per byte
	NoIncidents bool      // do not plant the incidents
}

// Stats describe what was written.
type Stats struct {
	Bytes, Lines, Requests, BigBytes int64
	Identities, PathsUsed            int
	UniquePaths                      int // paths read once (UniqueShare)
	First, Last                      time.Time
	Planted                          []string // one line per planted incident
}

// Write writes about size bytes of log to w.
func Write(w io.Writer, size int64, o Options) (Stats, error) {
	if o.Seed == 0 {
		o.Seed = 7
	}
	if o.Identities <= 0 {
		o.Identities = 3000
	}
	if o.Paths <= 0 {
		o.Paths = 30000
	}
	if o.Rate <= 0 {
		o.Rate = 40
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 9, 21, 6, 0, 0, 0, time.UTC)
	}
	g := newGen(o.Seed, o.Identities, o.Paths, o.Start, o.Rate)
	g.hotShare = o.HotShare
	g.uniqueShare = o.UniqueShare
	g.compact = o.Compact
	g.incidents = !o.NoIncidents
	bw := bufio.NewWriterSize(w, 1<<20)
	st := g.run(bw, size)
	st.Identities, st.PathsUsed, st.UniquePaths = len(g.ids), len(g.usedPaths)+g.uniqNext, g.uniqNext
	st.First, st.Last = o.Start, g.now
	return st, bw.Flush()
}

// Generate returns about size bytes of log.
func Generate(size int64, o Options) []byte {
	var b bytes.Buffer
	b.Grow(int(size) + 1<<20)
	Write(&b, size, o) // a bytes.Buffer does not fail
	return b.Bytes()
}

// Identity kinds.
const (
	kindK8s = iota
	kindCI
	kindHuman
	kindAppRole
	kindOperator // secret operators (VSO / ESO): a fixed set every hour
)

type secret struct {
	path      string
	mount     string
	mountType string
	keys      []string
	floats    int // >0: the secret holds an array of this many numbers (not HMAC'd by Vault)
	kind      int // 0 kv v2, 1 database creds, 2 transit
}

type identity struct {
	kind       int
	display    string
	entity     string
	policies   string // rendered JSON array
	tokenPols  string
	identPols  string
	metadata   string
	ttl        int
	addr       string
	ua         string
	loginMount string
	secrets    []int
	token      string
	accessor   string
	issued     time.Time
	authJSON   []byte // the "auth" object of the current token
	nextSync   time.Time
}

type pending struct {
	line []byte
	due  int64
}

type gen struct {
	r           *rand.Rand
	ids         []*identity
	cum         []float64 // cumulative weights for picking an identity
	secrets     []secret
	usedPaths   map[int]struct{}
	now         time.Time
	meanGap     float64
	hotShare    float64
	uniqueShare float64
	compact     bool
	incidents   bool
	hot         *identity
	uniq        *identity
	uniqNext    int
	held        []pending
	seq         int64
	buf         []byte
	st          Stats
	w           *bufio.Writer

	mountAccessors map[string]string
}

var (
	teams = []string{"payments", "ledger", "risk", "onboarding", "treasury", "platform", "identity", "search", "notify",
		"merchant", "mobile", "web", "data", "reporting", "fx", "cards", "dispute", "payout", "kyc", "fraud", "billing",
		"statements", "support", "partners", "compliance", "sre", "security", "growth", "pricing", "checkout"}
	secretNames = []string{"db", "config", "api-key", "oauth-client", "redis", "kafka-sasl", "s3", "smtp", "webhook-secret",
		"signing-key", "tls", "sentry-dsn", "datadog", "rabbitmq", "provider-key", "jwt-secret", "encryption-key", "sftp",
		"ldap-bind", "feature-store", "thresholds", "model", "psp", "swift", "ebics"}
	envs   = []string{"prod", "prod", "prod", "staging", "dev"}
	agents = []string{"Vault Agent/1.20.4 (+https://www.vaultproject.io/; go1.24.6)", "Go-http-client/1.1", "Go-http-client/2.0",
		"vault-secrets-operator/0.10.0", "python-requests/2.32.3", "hvac/2.3.0", "Java/17.0.12 spring-vault/3.1.2"}
)

func newGen(seed uint64, nIdent, nPaths int, t0 time.Time, rate float64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: t0, meanGap: 1 / rate, usedPaths: map[int]struct{}{},
		mountAccessors: map[string]string{}}
	g.makeSecrets(nPaths)
	g.makeIdentities(nIdent)
	return g
}

func (g *gen) hex(b []byte, n int) []byte {
	const digits = "0123456789abcdef"
	for n > 0 {
		v := g.r.Uint64()
		for i := 0; i < 16 && n > 0; i++ {
			b = append(b, digits[v&15])
			v >>= 4
			n--
		}
	}
	return b
}

func (g *gen) hmac() string { return string(g.appendHMAC(nil)) }

func (g *gen) appendHMAC(b []byte) []byte { return g.hex(append(b, "hmac-sha256:"...), 64) }

func (g *gen) uuid(b []byte) []byte {
	b = g.hex(b, 8)
	b = append(b, '-')
	b = g.hex(b, 4)
	b = append(b, '-')
	b = g.hex(b, 4)
	b = append(b, '-')
	b = g.hex(b, 4)
	b = append(b, '-')
	return g.hex(b, 12)
}

func (g *gen) makeSecrets(n int) {
	g.secrets = make([]secret, 0, n)
	for i := 0; len(g.secrets) < n; i++ {
		team := teams[g.r.IntN(len(teams))]
		env := envs[g.r.IntN(len(envs))]
		app := fmt.Sprintf("%s-%s%d", team, []string{"api", "worker", "svc", "batch", "ui", "gw"}[g.r.IntN(6)], i%97)
		name := secretNames[g.r.IntN(len(secretNames))]
		s := secret{mount: "kv/", mountType: "kv"}
		switch x := g.r.IntN(100); {
		case x < 6:
			s.kind, s.mount, s.mountType = 1, "database/", "database"
			s.path = "database/creds/" + app + "-" + []string{"ro", "rw"}[g.r.IntN(2)]
		case x < 10:
			s.kind, s.mount, s.mountType = 2, "transit/", "transit"
			s.path = "transit/encrypt/" + app
		default:
			s.path = "kv/data/" + env + "/" + team + "/" + app + "/" + name
			if g.r.IntN(40) == 0 {
				s.path += "-" + strconv.Itoa(g.r.IntN(1000))
			}
			nk := 1 + g.r.IntN(6)
			for k := 0; k < nk; k++ {
				s.keys = append(s.keys, []string{"username", "password", "url", "token", "client_id", "client_secret",
					"private_key", "certificate", "host", "port_hmac", "api_key", "secret"}[g.r.IntN(12)])
			}
			switch y := g.r.IntN(1000); {
			case y < 3: // large: model weights, tariff tables
				s.floats = 20000 + g.r.IntN(180000)
			case y < 30:
				s.floats = 200 + g.r.IntN(2800)
			}
		}
		g.secrets = append(g.secrets, s)
	}
}

func jsonList(xs []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(x))
	}
	b.WriteByte(']')
	return b.String()
}

func (g *gen) makeIdentities(n int) {
	g.ids = make([]*identity, 0, n)
	for i := 0; i < n; i++ {
		id := &identity{entity: string(g.uuid(nil))}
		team := teams[g.r.IntN(len(teams))]
		app := fmt.Sprintf("%s-%s%d", team, []string{"api", "worker", "svc", "batch", "ui", "gw"}[g.r.IntN(6)], i%97)
		var pols []string
		switch x := g.r.IntN(100); {
		case x < 74:
			id.kind = kindK8s
			id.display = "k8s-eu1-" + team + "-" + app
			pols = []string{"default", app}
			id.metadata = fmt.Sprintf(`{"role":%q,"service_account_name":%q,"service_account_namespace":%q,"service_account_secret_name":"","service_account_uid":"%s"}`,
				app, app, team, g.uuid(nil))
			id.ttl = 5400
			id.addr = fmt.Sprintf("100.%d.%d.%d", 64+g.r.IntN(60), g.r.IntN(256), 1+g.r.IntN(254))
			id.loginMount = "auth/kubernetes/"
		case x < 82:
			id.kind = kindCI
			id.display = "gitlab-kestrel/" + app
			pols = []string{"ci-read", "default"}
			id.metadata = fmt.Sprintf(`{"project_path":"kestrel/%s","ref":"main","ref_type":"branch","role":"ci-read"}`, app)
			id.ttl = 900
			id.addr = fmt.Sprintf("34.%d.%d.%d", 20+g.r.IntN(10), g.r.IntN(256), 1+g.r.IntN(254))
			id.loginMount = "auth/gitlab/"
		case x < 87:
			id.kind = kindHuman
			user := fmt.Sprintf("%s.%s%d", []string{"maria", "liam", "aoife", "sean", "niamh", "conor", "ana", "jose", "li", "sara"}[g.r.IntN(10)],
				[]string{"byrne", "kelly", "walsh", "silva", "chen", "murphy", "ryan", "garcia"}[g.r.IntN(8)], i)
			id.display = "oidc-" + user + "@kestrelpay.io"
			pols = []string{"default", team + "-devs"}
			if g.r.IntN(10) == 0 {
				pols = append(pols, "vault-operators")
			}
			id.metadata = fmt.Sprintf(`{"email":"%s@kestrelpay.io","role":"default"}`, user)
			id.ttl = 43200
			id.addr = fmt.Sprintf("10.8.%d.%d", g.r.IntN(256), 1+g.r.IntN(254))
			id.loginMount = "auth/oidc/"
		case x < 98:
			id.kind = kindAppRole
			id.display = "approle"
			pols = []string{"default", app + "-batch"}
			id.metadata = fmt.Sprintf(`{"role_name":%q}`, app+"-batch")
			id.ttl = 3600
			id.addr = fmt.Sprintf("10.%d.%d.%d", 20+g.r.IntN(40), g.r.IntN(256), 1+g.r.IntN(254))
			id.loginMount = "auth/approle/"
		default:
			id.kind = kindOperator
			id.display = "k8s-eu1-vault-secrets-operator-vso-controller-" + strconv.Itoa(i)
			pols = []string{"default", "vault-secrets-operator"}
			id.metadata = fmt.Sprintf(`{"role":"vso-controller","service_account_name":"vso-controller","service_account_namespace":"vault-secrets-operator","service_account_secret_name":"","service_account_uid":"%s"}`, g.uuid(nil))
			id.ttl = 604800
			id.addr = fmt.Sprintf("100.72.%d.%d", g.r.IntN(256), 1+g.r.IntN(254))
			id.loginMount = "auth/kubernetes/"
		}
		slices.Sort(pols)
		id.policies = jsonList(pols)
		if id.kind == kindHuman {
			id.tokenPols = `["default"]`
			id.identPols = jsonList(slices.DeleteFunc(slices.Clone(pols), func(p string) bool { return p == "default" }))
		} else {
			id.tokenPols = id.policies
		}
		id.ua = agents[g.r.IntN(len(agents))]
		ns := 3 + g.r.IntN(10)
		if id.kind == kindOperator {
			ns = 10 + g.r.IntN(30)
		}
		for k := 0; k < ns; k++ {
			id.secrets = append(id.secrets, g.pickSecret())
		}
		g.ids = append(g.ids, id)
	}
	// Zipf-like activity: a few services make most of the requests.
	g.cum = make([]float64, len(g.ids))
	total := 0.0
	perm := g.r.Perm(len(g.ids))
	for i, p := range perm {
		w := 1 / math.Pow(float64(i+1), 0.8)
		if g.ids[p].kind == kindOperator {
			w = 0 // operators run on their own schedule
		}
		total += w
		g.cum[p] = w
	}
	acc := 0.0
	for i := range g.cum {
		acc += g.cum[i] / total
		g.cum[i] = acc
	}
}

// pickSecret favours the first 500 paths (shared secrets are read by many identities).
func (g *gen) pickSecret() int {
	n := len(g.secrets)
	if g.r.IntN(8) == 0 {
		return g.r.IntN(min(n, 500))
	}
	return g.r.IntN(n)
}

func (g *gen) pick() *identity {
	x := g.r.Float64()
	i, _ := slices.BinarySearch(g.cum, x)
	if i >= len(g.ids) {
		i = len(g.ids) - 1
	}
	if g.ids[i].kind == kindOperator {
		i = 0
	}
	return g.ids[i]
}

func (g *gen) ensureToken(id *identity) {
	if id.token != "" && g.now.Sub(id.issued) < time.Duration(id.ttl)*time.Second {
		return
	}
	fresh := id.token == ""
	id.token, id.accessor = g.hmac(), g.hmac()
	id.issued = g.now.Add(-time.Duration(g.r.IntN(max(id.ttl/2, 1))) * time.Second)
	if !fresh {
		id.issued = g.now
		g.login(id)
	}
	id.authJSON = g.authObject(nil, id, true)
}

func (g *gen) authObject(b []byte, id *identity, results bool) []byte {
	b = append(b, `{"client_token":"`...)
	b = append(b, id.token...)
	b = append(b, `","accessor":"`...)
	b = append(b, id.accessor...)
	b = append(b, `","display_name":"`...)
	b = append(b, id.display...)
	b = append(b, `","policies":`...)
	b = append(b, id.policies...)
	b = append(b, `,"token_policies":`...)
	b = append(b, id.tokenPols...)
	if id.identPols != "" {
		b = append(b, `,"identity_policies":`...)
		b = append(b, id.identPols...)
	}
	if results {
		b = append(b, `,"policy_results":{"allowed":true,"granting_policies":[{"name":"default","namespace_id":"root","type":"acl"}]}`...)
	}
	b = append(b, `,"metadata":`...)
	b = append(b, id.metadata...)
	b = append(b, `,"entity_id":"`...)
	b = append(b, id.entity...)
	b = append(b, `","token_type":"service","token_ttl":`...)
	b = strconv.AppendInt(b, int64(id.ttl), 10)
	b = append(b, `,"token_issue_time":"`...)
	b = id.issued.UTC().AppendFormat(b, time.RFC3339)
	return append(b, `"}`...)
}

// req describes one request; the generator renders its request and response entries.
type req struct {
	id        *identity
	op        string
	path      string
	mount     string
	mountType string
	class     string
	addr      string
	ua        string
	reqData   func(b []byte) []byte
	respBody  func(b []byte) []byte // the content of "response", without braces
	denied    bool
	unauth    bool // no token: login requests
	respAuth  []byte
	rootAuth  []byte
	bigBody   bool
	noRespond bool
}

func (g *gen) mountAccessor(mount string) string {
	if a, ok := g.mountAccessors[mount]; ok {
		return a
	}
	a := strings.TrimSuffix(strings.ReplaceAll(mount, "/", "_"), "_") + "_" + fmt.Sprintf("%08x", uint32(len(g.mountAccessors))*2654435761)
	g.mountAccessors[mount] = a
	return a
}

func (g *gen) timestamp(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, time.RFC3339Nano)
}

// emit writes a request entry and (now or a little later) its response entry.
func (g *gen) emit(rq *req) {
	g.st.Requests++
	reqID := g.uuid(make([]byte, 0, 36))
	tReq := g.now
	if g.compact {
		g.emitCompact(rq, reqID)
		return
	}
	tResp := tReq.Add(time.Duration(200+g.r.IntN(20000)) * time.Microsecond)
	var authObj []byte
	switch {
	case rq.rootAuth != nil:
		authObj = rq.rootAuth
	case rq.unauth:
		authObj = []byte(`{"token_type":"default"}`)
	default:
		authObj = rq.id.authJSON
		if rq.denied {
			authObj = []byte(strings.Replace(string(authObj), `"policy_results":{"allowed":true,"granting_policies":[{"name":"default","namespace_id":"root","type":"acl"}]}`, `"policy_results":{"allowed":false}`, 1))
		}
	}
	mountAcc := g.mountAccessor(rq.mount)
	body := func(b []byte, typ string, t time.Time) []byte {
		b = append(b, `{"time":"`...)
		b = g.timestamp(b, t)
		b = append(b, `","type":"`...)
		b = append(b, typ...)
		b = append(b, `","auth":`...)
		b = append(b, authObj...)
		b = append(b, `,"request":{"id":"`...)
		b = append(b, reqID...)
		b = append(b, '"')
		if !rq.unauth && rq.rootAuth == nil {
			b = append(b, `,"client_id":"`...)
			b = append(b, rq.id.entity...)
			b = append(b, '"')
		}
		b = append(b, `,"operation":"`...)
		b = append(b, rq.op...)
		b = append(b, `","mount_point":"`...)
		b = append(b, rq.mount...)
		b = append(b, `","mount_type":"`...)
		b = append(b, rq.mountType...)
		if typ == "response" || !rq.denied {
			b = append(b, `","mount_accessor":"`...)
			b = append(b, mountAcc...)
		}
		b = append(b, `","mount_running_version":"v1.20.4+builtin.vault","mount_class":"`...)
		b = append(b, rq.class...)
		b = append(b, '"')
		if !rq.unauth {
			tok, acc := "", ""
			if rq.rootAuth != nil {
				tok, acc = rootToken, rootAccessor
			} else {
				tok, acc = rq.id.token, rq.id.accessor
			}
			b = append(b, `,"client_token":"`...)
			b = append(b, tok...)
			b = append(b, `","client_token_accessor":"`...)
			b = append(b, acc...)
			b = append(b, '"')
		}
		b = append(b, `,"namespace":{"id":"root"},"path":`...)
		b = strconv.AppendQuote(b, rq.path)
		if rq.reqData != nil {
			b = append(b, `,"data":`...)
			b = rq.reqData(b)
		}
		b = append(b, `,"remote_address":"`...)
		b = append(b, rq.addr...)
		b = append(b, `","remote_port":`...)
		b = strconv.AppendInt(b, int64(1024+g.r.IntN(64000)), 10)
		b = append(b, `,"headers":{"user-agent":[`...)
		b = strconv.AppendQuote(b, rq.ua)
		b = append(b, `]}}`...)
		if typ == "response" {
			b = append(b, `,"response":{`...)
			if rq.respAuth != nil {
				b = append(b, `"auth":`...)
				b = append(b, rq.respAuth...)
				b = append(b, ',')
			}
			b = append(b, `"mount_point":"`...)
			b = append(b, rq.mount...)
			b = append(b, `","mount_type":"`...)
			b = append(b, rq.mountType...)
			b = append(b, `","mount_accessor":"`...)
			b = append(b, mountAcc...)
			b = append(b, `","mount_running_plugin_version":"v1.20.4+builtin.vault","mount_class":"`...)
			b = append(b, rq.class...)
			b = append(b, '"')
			if rq.denied {
				b = append(b, `,"data":{"error":"`...)
				b = g.appendHMAC(b)
				b = append(b, `"}`...)
			} else if rq.respBody != nil {
				b = append(b, ',')
				b = rq.respBody(b)
			}
			b = append(b, '}')
		}
		if rq.denied {
			b = append(b, `,"error":"1 error occurred:\n\t* permission denied\n\n"`...)
		}
		return append(b, "}\n"...)
	}
	g.buf = body(g.buf[:0], "request", tReq)
	g.write(g.buf, false)
	if rq.noRespond {
		return
	}
	resp := body(make([]byte, 0, 2048), "response", tResp)
	g.seq++
	if g.r.IntN(4) == 0 {
		g.held = append(g.held, pending{line: resp, due: g.seq + 1 + int64(g.r.IntN(3))})
	} else {
		g.write(resp, rq.bigBody)
	}
	kept := g.held[:0]
	for _, p := range g.held {
		if p.due <= g.seq {
			g.write(p.line, false)
		} else {
			kept = append(kept, p)
		}
	}
	g.held = kept
}

// emitCompact writes a request entry with only the fields vaultsentry reads, and no response:
// the most events a byte of log can hold.
func (g *gen) emitCompact(rq *req, reqID []byte) {
	b := append(g.buf[:0], `{"time":"`...)
	b = g.timestamp(b, g.now)
	b = append(b, `","type":"request","auth":{`...)
	if !rq.unauth {
		acc, name, pols := rq.id.accessor, rq.id.display, rq.id.policies
		if rq.rootAuth != nil {
			acc, name, pols = rootAccessor, "root", `["root"]`
		}
		b = append(b, `"accessor":"`...)
		b = append(b, acc...)
		b = append(b, `","display_name":"`...)
		b = append(b, name...)
		b = append(b, `","policies":`...)
		b = append(b, pols...)
	}
	b = append(b, `},"request":{"id":"`...)
	b = append(b, reqID...)
	b = append(b, `","operation":"`...)
	b = append(b, rq.op...)
	b = append(b, `","path":`...)
	b = strconv.AppendQuote(b, rq.path)
	b = append(b, `,"remote_address":"`...)
	b = append(b, rq.addr...)
	b = append(b, "\"}}\n"...)
	g.buf = b
	g.write(b, false)
}

func (g *gen) write(b []byte, big bool) {
	g.w.Write(b)
	g.st.Bytes += int64(len(b))
	g.st.Lines++
	if big {
		g.st.BigBytes += int64(len(b))
	}
}

const (
	rootToken    = "hmac-sha256:9d2f6a1b0c7e4f3a8b5d2e1f0a9c8b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b"
	rootAccessor = "hmac-sha256:1f2e3d4c5b6a79880f1e2d3c4b5a69780f1e2d3c4b5a69780f1e2d3c4b5a6978"
)

func (g *gen) kvRead(id *identity, si int, addr, ua string) *req {
	s := &g.secrets[si]
	g.usedPaths[si] = struct{}{}
	rq := &req{id: id, op: "read", path: s.path, mount: s.mount, mountType: s.mountType, class: "secret", addr: addr, ua: ua}
	switch s.kind {
	case 1:
		rq.respBody = func(b []byte) []byte {
			b = append(b, `"secret":{"lease_id":"`...)
			b = append(b, s.path...)
			b = append(b, '/')
			b = g.hex(b, 24)
			b = append(b, `"},"data":{"password":"`...)
			b = g.appendHMAC(b)
			b = append(b, `","username":"`...)
			b = g.appendHMAC(b)
			return append(b, `"}`...)
		}
	case 2:
		rq.op = "update"
		rq.reqData = func(b []byte) []byte {
			b = append(b, `{"plaintext":"`...)
			b = g.appendHMAC(b)
			return append(b, `"}`...)
		}
		rq.respBody = func(b []byte) []byte {
			b = append(b, `"data":{"ciphertext":"`...)
			b = g.appendHMAC(b)
			return append(b, `","key_version":1}`...)
		}
	default:
		rq.bigBody = s.floats > 20000
		rq.respBody = func(b []byte) []byte {
			b = append(b, `"data":{"data":{`...)
			for i, k := range s.keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, '"')
				b = append(b, k...)
				b = append(b, `":"`...)
				b = g.appendHMAC(b)
				b = append(b, '"')
			}
			if s.floats > 0 {
				b = append(b, `,"thresholds":[`...)
				for i := 0; i < s.floats; i++ {
					if i > 0 {
						b = append(b, ',')
					}
					v := g.r.Uint64()
					b = append(b, '0', '.')
					b = strconv.AppendUint(b, 1000+v%9000, 10)
				}
				b = append(b, ']')
			}
			b = append(b, `},"metadata":{"created_time":"`...)
			b = g.appendHMAC(b)
			b = append(b, `","custom_metadata":null,"deletion_time":"`...)
			b = g.appendHMAC(b)
			b = append(b, `","destroyed":false,"version":`...)
			b = strconv.AppendInt(b, int64(1+si%17), 10)
			return append(b, `}}`...)
		}
	}
	return rq
}

func (g *gen) login(id *identity) {
	rq := &req{id: id, op: "update", path: id.loginMount + "login", mount: id.loginMount, mountType: strings.Trim(strings.TrimPrefix(id.loginMount, "auth/"), "/"),
		class: "auth", addr: id.addr, ua: id.ua, unauth: true}
	if rq.mountType == "gitlab" {
		rq.mountType = "jwt"
	}
	rq.reqData = func(b []byte) []byte {
		b = append(b, `{"jwt":"`...)
		b = g.appendHMAC(b)
		b = append(b, `","role":"`...)
		b = g.appendHMAC(b)
		return append(b, `"}`...)
	}
	rq.respAuth = g.authObject(nil, id, false)
	g.emit(rq)
	g.advance()
}

func (g *gen) advance() {
	g.now = g.now.Add(time.Duration(g.r.ExpFloat64() * g.meanGap * float64(time.Second)))
}

// regular makes one ordinary request of id.
func (g *gen) regular(id *identity) {
	g.ensureToken(id)
	x := g.r.IntN(100)
	si := id.secrets[g.r.IntN(len(id.secrets))]
	if id.kind == kindHuman {
		si = g.pickSecret() // people browse
	}
	switch id.kind {
	case kindK8s, kindAppRole, kindCI:
		switch {
		case x < 62:
			rq := g.kvRead(id, si, id.addr, id.ua)
			if g.r.IntN(150) == 0 { // a secret outside the policy
				rq = g.kvRead(id, g.pickSecret(), id.addr, id.ua)
				rq.denied, rq.respBody = true, nil
			}
			g.emit(rq)
		case x < 80:
			g.emit(&req{id: id, op: "update", path: "auth/token/renew-self", mount: "auth/token/", mountType: "token", class: "auth",
				addr: id.addr, ua: id.ua, reqData: g.incrementData, respAuth: g.authObject(nil, id, false)})
		case x < 92:
			g.emit(&req{id: id, op: "update", path: "sys/leases/renew", mount: "sys/", mountType: "system", class: "secret",
				addr: id.addr, ua: id.ua, reqData: func(b []byte) []byte {
					b = append(b, `{"increment":"`...)
					b = g.appendHMAC(b)
					b = append(b, `","lease_id":"`...)
					b = g.appendHMAC(b)
					return append(b, `"}`...)
				}, respBody: func(b []byte) []byte {
					b = append(b, `"secret":{"lease_id":"database/creds/`...)
					b = g.hex(b, 24)
					return append(b, `"}`...)
				}})
		default:
			g.emit(&req{id: id, op: "read", path: "auth/token/lookup-self", mount: "auth/token/", mountType: "token", class: "auth",
				addr: id.addr, ua: id.ua, respBody: func(b []byte) []byte {
					b = append(b, `"data":{"accessor":"`...)
					b = append(b, id.accessor...)
					b = append(b, `","creation_ttl":`...)
					b = strconv.AppendInt(b, int64(id.ttl), 10)
					b = append(b, `,"display_name":"`...)
					b = append(b, id.display...)
					b = append(b, `","entity_id":"`...)
					b = append(b, id.entity...)
					b = append(b, `","expire_time":"`...)
					b = g.appendHMAC(b)
					b = append(b, `","policies":`...)
					b = append(b, id.policies...)
					return append(b, `,"renewable":true,"type":"service"}`...)
				}})
		}
	case kindHuman:
		switch {
		case x < 30:
			s := g.secrets[si].path
			if i := strings.LastIndexByte(s, '/'); i > 0 && strings.HasPrefix(s, "kv/data/") {
				s = "kv/metadata/" + strings.TrimPrefix(s[:i+1], "kv/data/")
			}
			g.emit(&req{id: id, op: "list", path: s, mount: "kv/", mountType: "kv", class: "secret", addr: id.addr, ua: id.ua,
				respBody: func(b []byte) []byte {
					b = append(b, `"data":{"keys":[`...)
					n := 2 + g.r.IntN(30)
					for i := 0; i < n; i++ {
						if i > 0 {
							b = append(b, ',')
						}
						b = append(b, '"')
						b = g.appendHMAC(b)
						b = append(b, '"')
					}
					return append(b, `]}`...)
				}})
		case x < 75:
			g.emit(g.kvRead(id, si, id.addr, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0 Safari/537.36"))
		case x < 88:
			s := &g.secrets[si]
			g.emit(&req{id: id, op: "update", path: s.path, mount: s.mount, mountType: s.mountType, class: "secret", addr: id.addr, ua: id.ua,
				reqData: func(b []byte) []byte {
					b = append(b, `{"data":{"value":"`...)
					b = g.appendHMAC(b)
					return append(b, `"},"options":{}}`...)
				},
				respBody: func(b []byte) []byte {
					b = append(b, `"data":{"created_time":"`...)
					b = g.appendHMAC(b)
					return append(b, `","custom_metadata":null,"deletion_time":"","destroyed":false,"version":3}`...)
				}})
		default:
			g.emit(&req{id: id, op: "read", path: "sys/internal/ui/mounts", mount: "sys/", mountType: "system", class: "secret", addr: id.addr, ua: id.ua,
				respBody: func(b []byte) []byte {
					return append(b, `"data":{"auth":{"kubernetes/":{"type":"kubernetes"},"oidc/":{"type":"oidc"}},"secret":{"kv/":{"type":"kv","options":{"version":"2"}},"database/":{"type":"database"},"transit/":{"type":"transit"}}}`...)
				}})
		}
	}
	g.advance()
}

func (g *gen) incrementData(b []byte) []byte {
	b = append(b, `{"increment":"`...)
	b = g.appendHMAC(b)
	return append(b, `"}`...)
}

// syncOperators runs the hourly fixed-set syncs of the secret operators that are due.
func (g *gen) syncOperators() {
	for _, id := range g.ids {
		if id.kind != kindOperator {
			continue
		}
		if id.nextSync.IsZero() {
			id.nextSync = g.now.Add(time.Duration(g.r.IntN(3600)) * time.Second)
		}
		if g.now.Before(id.nextSync) {
			continue
		}
		g.ensureToken(id)
		for _, si := range id.secrets {
			g.emit(g.kvRead(id, si, id.addr, "vault-secrets-operator/0.10.0"))
			g.now = g.now.Add(time.Duration(5+g.r.IntN(200)) * time.Millisecond)
		}
		id.nextSync = id.nextSync.Add(time.Hour)
	}
}

func (g *gen) run(w *bufio.Writer, size int64) Stats {
	g.w = w
	if g.hotShare > 0 {
		g.hot = &identity{kind: kindK8s, display: "k8s-eu1-ingest-hot-writer", entity: string(g.uuid(nil)), policies: `["default","ingest"]`,
			tokenPols: `["default","ingest"]`, metadata: `{"role":"ingest"}`, ttl: 1 << 30, addr: "100.99.1.1", ua: "Go-http-client/1.1",
			loginMount: "auth/kubernetes/"}
		for i := 0; i < 50; i++ {
			g.hot.secrets = append(g.hot.secrets, g.r.IntN(len(g.secrets)))
		}
	}
	if g.uniqueShare > 0 {
		g.uniq = &identity{kind: kindAppRole, display: "approle", entity: string(g.uuid(nil)), policies: `["backup","default"]`,
			tokenPols: `["backup","default"]`, metadata: `{"role_name":"backup"}`, ttl: 1 << 30, addr: "10.50.0.9", ua: "restic-vault/1.2",
			loginMount: "auth/approle/"}
	}
	var marks []float64
	if g.incidents {
		marks = []float64{0.3, 0.55, 0.8}
	}
	syncCheck := g.now
	for g.st.Bytes < size {
		if len(marks) > 0 && float64(g.st.Bytes) >= marks[0]*float64(size) {
			g.plant(len(marks))
			marks = marks[1:]
		}
		if g.now.Sub(syncCheck) > 10*time.Second {
			g.syncOperators()
			syncCheck = g.now
		}
		switch {
		case g.hot != nil && g.r.Float64() < g.hotShare:
			g.ensureToken(g.hot)
			g.emit(g.kvRead(g.hot, g.hot.secrets[g.r.IntN(len(g.hot.secrets))], g.hot.addr, g.hot.ua))
			g.advance()
		case g.uniq != nil && g.r.Float64() < g.uniqueShare:
			g.ensureToken(g.uniq)
			g.emit(&req{id: g.uniq, op: "read", path: fmt.Sprintf("kv/data/backup/%07d/archive", g.uniqNext), mount: "kv/", mountType: "kv",
				class: "secret", addr: g.uniq.addr, ua: g.uniq.ua, respBody: func(b []byte) []byte {
					b = append(b, `"data":{"data":{"blob":"`...)
					b = g.appendHMAC(b)
					return append(b, `"}}`...)
				}})
			g.uniqNext++
			g.advance()
		default:
			g.regular(g.pick())
		}
	}
	for _, p := range g.held {
		g.write(p.line, false)
	}
	return g.st
}

// plant writes incident number n (3, 2, 1 from the start of the log).
func (g *gen) plant(n int) {
	switch n {
	case 3: // stolen token: harvest from outside while the pod keeps working from inside
		var victim *identity
		for _, id := range g.ids {
			if id.kind == kindK8s {
				victim = id
				break
			}
		}
		g.ensureToken(victim)
		g.emit(g.kvRead(victim, victim.secrets[0], victim.addr, victim.ua))
		g.advance()
		start := g.now
		for i := 0; i < 150; i++ {
			si := (i * 7919) % len(g.secrets)
			g.emit(g.kvRead(victim, si, "203.0.113.77", "curl/8.5.0"))
			g.now = g.now.Add(time.Duration(800+g.r.IntN(1200)) * time.Millisecond)
			if i%20 == 0 {
				g.regular(g.pick())
			}
		}
		g.emit(g.kvRead(victim, victim.secrets[0], victim.addr, victim.ua))
		g.st.Planted = append(g.st.Planted, fmt.Sprintf("bulk-read + dual-source-ip: %s (%s) harvests 150 secrets from 203.0.113.77 at %s",
			victim.display, victim.accessor, start.Format(time.RFC3339)))
	case 2: // root token from outside: orphan root token, audit device disabled
		root := []byte(`{"client_token":"` + rootToken + `","accessor":"` + rootAccessor + `","display_name":"root","policies":["root"],"token_policies":["root"],"policy_results":{"allowed":true,"granting_policies":[{"name":"root","namespace_id":"root","type":"acl"}]},"token_type":"service","token_issue_time":"2026-01-10T09:00:00Z"}`)
		anyID := g.ids[0]
		start := g.now
		g.emit(&req{id: anyID, rootAuth: root, op: "update", path: "auth/token/create-orphan", mount: "auth/token/", mountType: "token", class: "auth",
			addr: "198.51.100.23", ua: "vault/1.20.4", reqData: func(b []byte) []byte {
				return append(b, `{"no_parent":true,"period":"hmac-sha256:5c1d8a8d6f6f3c0e2d4b1a7e9c8f6d5b4a3c2e1f0d9c8b7a6e5f4d3c2b1a0f9e","policies":["root"]}`...)
			}, respAuth: []byte(`{"client_token":"` + g.hmac() + `","accessor":"` + g.hmac() + `","display_name":"token","policies":["root"],"token_policies":["root"],"token_type":"service"}`)})
		g.advance()
		g.emit(&req{id: anyID, rootAuth: root, op: "delete", path: "sys/audit/siem-socket", mount: "sys/", mountType: "system", class: "secret",
			addr: "198.51.100.23", ua: "vault/1.20.4"})
		g.advance()
		g.st.Planted = append(g.st.Planted, "privileged-token + audit-disabled: root token from 198.51.100.23 at "+start.Format(time.RFC3339))
	case 1: // enumeration with denials
		var prober *identity
		for _, id := range g.ids {
			if id.kind == kindCI {
				prober = id
				break
			}
		}
		g.ensureToken(prober)
		start := g.now
		for i := 0; i < 80; i++ {
			rq := g.kvRead(prober, (i*104729)%len(g.secrets), "185.220.101.4", "python-requests/2.32.3")
			rq.denied, rq.respBody = true, nil
			g.emit(rq)
			g.now = g.now.Add(time.Duration(500+g.r.IntN(1000)) * time.Millisecond)
		}
		g.st.Planted = append(g.st.Planted, fmt.Sprintf("denied-burst: %s denied 80 times from 185.220.101.4 at %s", prober.display, start.Format(time.RFC3339)))
	}
}
