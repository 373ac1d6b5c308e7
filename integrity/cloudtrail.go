// Package integrity checks that evidence is what its producer delivered. For CloudTrail that
// is log file integrity validation, offline: every log file of an S3 export tree against the
// digest that lists it, the chain of digests, and the digests' RSA signatures when they are
// given. It reads files only; it knows nothing of events or findings, so `verify` and `review`
// can both call it.
//
// The formats are AWS's: "CloudTrail digest file structure" and "Validating CloudTrail log file
// integrity with custom implementations" in the CloudTrail user guide.
package integrity

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"slices"
	"strings"
	"time"
)

// Status is the verdict on a tree.
type Status string

// The verdicts. Invalid wins over unverifiable: a proven problem is reported as such even when
// something else could not be checked.
const (
	Valid        Status = "valid"
	Invalid      Status = "invalid"      // a file was changed, deleted, moved or added
	Unverifiable Status = "unverifiable" // nothing is proven wrong, but something could not be checked
)

// The kinds of problem. The first group makes a tree invalid, the second unverifiable.
const (
	HashMismatch           = "hash-mismatch"     // a log file's SHA-256 differs from its digest's
	MissingLogFile         = "missing-log-file"  // a digest lists it; it is not in the tree
	UnlistedLogFile        = "unlisted-log-file" // in the tree, inside the digests' time range, listed by none
	MovedLogFile           = "moved-log-file"    // a listed log file found under another key
	MissingDigest          = "missing-digest"    // a gap in the chain of digests
	MovedDigest            = "moved-digest"      // a digest not at the key it was delivered to
	PreviousDigestMismatch = "previous-digest-hash-mismatch"
	PreviousSignature      = "previous-signature-mismatch" // a verified signature differs from the one the next digest records
	BadSignature           = "bad-signature"
	MalformedDigest        = "malformed-digest" // does not decompress or is not a digest

	NoSignature      = "no-signature"  // no signature for this digest (--signatures)
	NoPublicKey      = "no-public-key" // no key with the digest's fingerprint (--public-key)
	UnsupportedAlgo  = "unsupported-algorithm"
	Unreadable       = "unreadable"         // the file could not be read
	NoDigests        = "no-digests"         // log files without any digest for their account and region
	NoCloudTrailTree = "no-cloudtrail-tree" // nothing under an AWSLogs/ folder
)

var unverifiableKinds = map[string]bool{NoSignature: true, NoPublicKey: true, UnsupportedAlgo: true,
	Unreadable: true, NoDigests: true, NoCloudTrailTree: true}

// Problem is one thing found wrong, or one thing that could not be checked.
type Problem struct {
	File   string `json:"file"` // the S3 key, or the local path ending in it
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Result is the verdict on one tree: the "integrity.cloudtrail" object of the JSON report.
type Result struct {
	Status   Status    `json:"status"`
	Reason   string    `json:"reason,omitempty"` // for invalid and unverifiable: the gist of the problems
	LogFiles int       `json:"log_files"`        // log files found in the tree
	Digests  int       `json:"digests"`          // digest files found in the tree
	Problems []Problem `json:"problems"`
	// NotYetCovered counts log files delivered after the newest digest of their account and
	// region ended: the next digest will list them. They are not a problem.
	NotYetCovered int      `json:"not_yet_covered"`
	Notes         []string `json:"notes,omitempty"`
}

// Options are what VerifyCloudTrail checks signatures with.
type Options struct {
	// Signatures of the digests by S3 key (--signatures). A digest's signature is also recorded
	// in the next digest (previousDigestSignature), so without this only the newest digest of
	// each chain lacks one; it is verified against the public key like any other.
	Signatures Signatures
	Keys       []PublicKey // --public-key; none: signatures are not checked (unverifiable)
	Workers    int         // files read at once; 0: GOMAXPROCS
}

// digestFile mirrors a CloudTrail digest file. Fields CloudTrail writes as null stay nil.
type digestFile struct {
	AccountID                   string    `json:"awsAccountId"`
	DigestStartTime             string    `json:"digestStartTime"`
	DigestEndTime               string    `json:"digestEndTime"`
	DigestS3Bucket              string    `json:"digestS3Bucket"`
	DigestS3Object              string    `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string    `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string    `json:"digestSignatureAlgorithm"`
	PreviousDigestS3Bucket      *string   `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string   `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string   `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string   `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string   `json:"previousDigestSignature"`
	LogFiles                    []logFile `json:"logFiles"`

	start, end time.Time
}

type logFile struct {
	S3Bucket      string `json:"s3Bucket"`
	S3Object      string `json:"s3Object"`
	HashValue     string `json:"hashValue"`
	HashAlgorithm string `json:"hashAlgorithm"`
}

func parseDigest(data []byte) (*digestFile, error) {
	var d digestFile
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("not a digest: %w", err)
	}
	if d.DigestS3Object == "" || d.DigestEndTime == "" || d.DigestStartTime == "" {
		return nil, errors.New("not a digest: digestS3Object, digestStartTime or digestEndTime is missing")
	}
	var err error
	if d.start, err = time.Parse(time.RFC3339, d.DigestStartTime); err != nil {
		return nil, fmt.Errorf("digestStartTime: %w", err)
	}
	if d.end, err = time.Parse(time.RFC3339, d.DigestEndTime); err != nil {
		return nil, fmt.Errorf("digestEndTime: %w", err)
	}
	return &d, nil
}

// signingString is what CloudTrail signs: the end time as written, bucket/key, the hex SHA-256
// of the decompressed digest, and the previous digest's signature ("null" for a chain's first,
// as the AWS CLI writes it to match CloudTrail's Java).
func (d *digestFile) signingString(hash [sha256.Size]byte) string {
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	return d.DigestEndTime + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" + hex.EncodeToString(hash[:]) + "\n" + prev
}

func (d *digestFile) previous() string {
	if d.PreviousDigestS3Object == nil || *d.PreviousDigestS3Object == "" {
		return ""
	}
	return s3Key(*d.PreviousDigestS3Object)
}

// VerifyCloudTrail validates the CloudTrail tree under root: a directory holding AWSLogs/, or
// AWSLogs/ itself, or a folder below it. Only a root that cannot be walked, or ctx ending, is an
// error; whatever is wrong with the files is in the Result.
func VerifyCloudTrail(ctx context.Context, root string, o Options) (*Result, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("verify %s: not a directory (give the folder that holds AWSLogs/)", root)
	}
	files, err := walk(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	readAll(ctx, files, o.Workers)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("verify %s: %w", root, err)
	}
	v := &verifier{opts: o, root: root}
	v.check(files)
	return v.result(), nil
}

type verifier struct {
	opts     Options
	root     string
	res      Result
	problems []Problem
}

func (v *verifier) add(file, kind, format string, a ...any) {
	v.problems = append(v.problems, Problem{File: file, Kind: kind, Detail: fmt.Sprintf(format, a...)})
}

func (v *verifier) note(format string, a ...any) {
	v.res.Notes = append(v.res.Notes, fmt.Sprintf(format, a...))
}

// listing is a log file as a digest lists it.
type listing struct {
	hash   string
	digest string // key of the digest that lists it
	found  bool
}

// scope is an account and region: CloudTrail's unit of delivery (AWSLogs/[o-id/]account, region).
type scope struct {
	digests     []*localFile
	oldestStart time.Time
	newestEnd   time.Time
	startsChain bool // the oldest digest is the first of a chain (validation began there)
}

func scopeOf(key, folder string) string {
	i := strings.Index(key, "/"+folder+"/")
	if i < 0 {
		return ""
	}
	region, _, _ := strings.Cut(key[i+len(folder)+2:], "/")
	return key[:i] + " " + region
}

// stream is one trail's chain in one scope: the digest's name without its timestamp.
func stream(key string) string {
	dir := key
	if i := strings.Index(key, "/CloudTrail-Digest/"); i >= 0 {
		dir = key[:i]
	}
	base := path.Base(key)
	if i := strings.LastIndex(base, "_"); i > 0 {
		base = base[:i]
	}
	return dir + " " + base
}

// nameTime is the time in a CloudTrail file name: a digest's end (20260911T140012Z), a log
// file's delivery (20260911T1317Z).
func nameTime(key string) (time.Time, bool) {
	for _, part := range strings.Split(strings.TrimSuffix(strings.TrimSuffix(path.Base(key), ".gz"), ".json"), "_") {
		if len(part) == 16 && part[8] == 'T' && part[15] == 'Z' {
			if t, err := time.Parse("20060102T150405Z", part); err == nil {
				return t, true
			}
		}
		if len(part) == 14 && part[8] == 'T' && part[13] == 'Z' {
			if t, err := time.Parse("20060102T1504Z", part); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func (v *verifier) check(files []*localFile) {
	byKey := map[string]*localFile{}
	digestsByHash := map[[sha256.Size]byte]*localFile{}
	var digests, logs []*localFile
	for _, f := range files {
		switch {
		case f.ioErr != nil:
			v.add(f.path, Unreadable, "%v", f.ioErr)
			continue
		case f.kind == kindDigest:
			v.res.Digests++
			if f.damaged != nil {
				v.add(f.path, MalformedDigest, "%v", f.damaged)
				continue
			}
			digests = append(digests, f)
			digestsByHash[f.hash] = f
		case f.kind == kindLog || f.kind == kindInsight:
			if f.kind == kindLog {
				v.res.LogFiles++
			}
			logs = append(logs, f)
		}
		byKey[f.key] = f
	}
	if len(files) == 0 {
		v.add(v.root, NoCloudTrailTree, "no file under an AWSLogs/ folder: give the folder that holds AWSLogs/ (an S3 export of a trail)")
		return
	}
	slices.SortFunc(digests, func(a, b *localFile) int {
		return cmp.Or(a.digest.end.Compare(b.digest.end), strings.Compare(a.key, b.key))
	})

	// Each digest where CloudTrail put it, its place in its chain, its signature.
	scopes := map[string]*scope{}
	hasSuccessor := map[*localFile]bool{}
	embedded := map[*localFile]string{} // a digest's signature as the next digest records it
	type missing struct {
		key   string
		end   time.Time
		next  *localFile
		named string
	}
	var missings []missing
	for _, f := range digests {
		d := f.digest
		claimed := s3Key(d.DigestS3Object)
		if claimed != f.key {
			v.add(f.path, MovedDigest, "it says it was delivered to %s, not where it is", claimed)
		}
		sk := scopeOf(claimed, "CloudTrail-Digest")
		s := scopes[sk]
		if s == nil {
			s = &scope{oldestStart: d.start, startsChain: d.previous() == ""}
			scopes[sk] = s
		}
		s.digests = append(s.digests, f)
		s.newestEnd = d.end // digests are in end-time order
		prev := d.previous()
		if prev == "" {
			continue
		}
		p := byKey[prev]
		if p == nil || p.kind != kindDigest || p.digest == nil {
			if d.PreviousDigestHashValue != nil {
				if h, err := hex.DecodeString(*d.PreviousDigestHashValue); err == nil && len(h) == sha256.Size {
					var hh [sha256.Size]byte
					copy(hh[:], h)
					if m := digestsByHash[hh]; m != nil && m.key != prev {
						// Found by its content. Its own digestS3Object is normally prev, and then the
						// move was reported above; if not, this is where it shows.
						if s3Key(m.digest.DigestS3Object) == m.key {
							v.add(m.path, MovedDigest, "%s names it as its previous digest at %s", f.key, prev)
						}
						p = m
					}
				}
			}
		}
		if p == nil || p.digest == nil {
			if p != nil && p.kind == kindDigest {
				continue // malformed, reported already
			}
			end, ok := nameTime(prev)
			if !ok {
				end = d.start
			}
			missings = append(missings, missing{key: prev, end: end, next: f, named: f.key})
			v.add(prev, MissingDigest, "%s names it as its previous digest; it is not in the tree (the log files it listed, delivered before %s, cannot be checked)",
				f.key, d.DigestStartTime)
			continue
		}
		hasSuccessor[p] = true
		if d.PreviousDigestSignature != nil {
			embedded[p] = *d.PreviousDigestSignature
		}
		if d.PreviousDigestHashValue == nil || !strings.EqualFold(*d.PreviousDigestHashValue, hex.EncodeToString(p.hash[:])) {
			want := "none"
			if d.PreviousDigestHashValue != nil {
				want = *d.PreviousDigestHashValue
			}
			v.add(f.path, PreviousDigestMismatch, "it records %s for its previous digest %s, whose SHA-256 is %s: that digest was changed or replaced",
				want, p.key, hex.EncodeToString(p.hash[:]))
		}
	}

	// Gaps that no digest names: a digest that nothing follows, though its chain goes on. With one
	// digest deleted its successor names it; with two or more in a row the older ones are named
	// only by deleted files (aws-cli#7054), so they are inferred from the hourly cadence.
	byStream := map[string][]*localFile{}
	for _, f := range digests {
		st := stream(s3Key(f.digest.DigestS3Object))
		byStream[st] = append(byStream[st], f)
	}
	followed := map[[sha256.Size]byte]bool{} // by content: a copy of a followed digest is not a gap
	for f := range hasSuccessor {
		followed[f.hash] = true
	}
	for _, f := range digests {
		if hasSuccessor[f] || followed[f.hash] {
			continue
		}
		claimed := s3Key(f.digest.DigestS3Object)
		st := stream(claimed)
		chain := byStream[st]
		if chain[len(chain)-1] == f {
			continue // the newest digest of its chain
		}
		// The next thing after f: a missing digest a later digest names, or a later digest.
		var gap *missing
		for i := range missings {
			m := &missings[i]
			if stream(m.key) == st && m.end.After(f.digest.end) && (gap == nil || m.end.Before(gap.end)) {
				gap = m
			}
		}
		var next *localFile
		for _, g := range chain {
			if g.digest.end.After(f.digest.end) {
				next = g
				break
			}
		}
		if gap != nil && (next == nil || !next.digest.end.Before(gap.end)) {
			n := int(math.Round(gap.end.Sub(f.digest.end).Hours()))
			base, ok := nameTime(claimed)
			if !ok {
				base = f.digest.end
			}
			for i := 1; i < n; i++ {
				t := base.Add(time.Duration(i) * time.Hour)
				v.add(inferKey(claimed, t), MissingDigest, "no digest in the tree follows %s, and the digest after the gap (%s) is missing too: "+
					"this one, ending about %s, is missing as well (its name is inferred from the hourly cadence)",
					f.key, gap.key, t.Format(time.RFC3339))
			}
			continue
		}
		if next != nil && next.digest.previous() == "" {
			v.note("the chain of %s restarts at %s (no previous digest): log file validation or logging was off between %s and %s, "+
				"and log files delivered then are not covered", st[strings.LastIndex(st, " ")+1:], next.key, f.digest.DigestEndTime, next.digest.DigestStartTime)
			continue
		}
		if next != nil {
			v.add(f.path, MissingDigest, "no digest in the tree names it as its previous digest, though %s comes after it: the digest after it is missing", next.key)
		}
	}

	v.checkSignatures(digests, embedded)

	// Log files: each listed one against its hash; each present one must be listed.
	listed := map[string]*listing{}
	for _, f := range digests {
		for _, l := range f.digest.LogFiles {
			k := s3Key(l.S3Object)
			if _, dup := listed[k]; !dup {
				listed[k] = &listing{hash: strings.ToLower(l.HashValue), digest: f.key}
			}
		}
	}
	unlisted := []*localFile{}
	for _, f := range logs {
		l := listed[f.key]
		if l == nil && strings.HasSuffix(f.key, ".json") {
			l = listed[f.key+".gz"] // a copy decompressed on the way keeps its hash
		}
		if l == nil {
			if f.kind == kindLog {
				unlisted = append(unlisted, f)
			}
			continue
		}
		l.found = true
		if f.damaged != nil {
			v.add(f.path, HashMismatch, "it %v; %s lists it with SHA-256 %s", f.damaged, l.digest, l.hash)
			continue
		}
		if got := hex.EncodeToString(f.hash[:]); got != l.hash {
			why := ""
			if hex.EncodeToString(f.rawHash[:]) == l.hash {
				why = " (the SHA-256 of the compressed file: whatever wrote that digest hashed the .gz bytes, which CloudTrail does not)"
			}
			v.add(f.path, HashMismatch, "the SHA-256 of its decompressed bytes is %s; %s lists %s%s", got, l.digest, l.hash, why)
		}
	}
	missingByHash := map[string]string{}
	for k, l := range listed {
		if !l.found {
			missingByHash[l.hash] = k
		}
	}
	noDigest := map[string]int{}
	predates := 0
	for _, f := range unlisted {
		sk := scopeOf(f.key, "CloudTrail")
		s := scopes[sk]
		if s == nil {
			noDigest[sk]++
			continue
		}
		t, ok := nameTime(f.key)
		if ok && !t.Before(s.newestEnd.Truncate(time.Minute)) {
			v.res.NotYetCovered++
			continue
		}
		if ok && s.startsChain && t.Before(s.oldestStart.Truncate(time.Minute)) {
			predates++
			continue
		}
		if k, moved := missingByHash[hex.EncodeToString(f.hash[:])]; moved && f.damaged == nil {
			v.add(f.path, MovedLogFile, "its content is that of %s, which %s lists", k, listed[k].digest)
			delete(missingByHash, listed[k].hash)
			listed[k].found = true
			continue
		}
		v.add(f.path, UnlistedLogFile, "no digest in the tree lists it, though digests cover its account and region from %s to %s",
			s.oldestStart.Format(time.RFC3339), s.newestEnd.Format(time.RFC3339))
	}
	for k, l := range listed {
		if !l.found {
			v.add(k, MissingLogFile, "%s lists it; it is not in the tree", l.digest)
		}
	}
	for _, sk := range sortedKeys(noDigest) {
		prefix, region, _ := strings.Cut(sk, " ")
		v.add(prefix+"/CloudTrail/"+region+"/", NoDigests, "%d log files and no digest for this account and region: "+
			"was log file validation on, and were the CloudTrail-Digest folders copied?", noDigest[sk])
	}
	if v.res.NotYetCovered > 0 {
		v.note("%d log files were delivered after the newest digest of their account and region ended: not yet covered by a digest, not a problem", v.res.NotYetCovered)
	}
	if predates > 0 {
		v.note("%d log files were delivered before the first digest of their chain began: log file validation was not on yet", predates)
	}
	if len(digests) == 0 && v.res.Digests == 0 && len(noDigest) == 0 {
		v.add(v.root, NoDigests, "no digest file in the tree: was log file validation on, and were the CloudTrail-Digest folders copied?")
	}
}

// inferKey is the key CloudTrail would have given the digest of the same trail ending at t.
func inferKey(like string, t time.Time) string {
	dir := path.Dir(like)
	// .../CloudTrail-Digest/region/YYYY/MM/DD
	if i := strings.Index(dir, "/CloudTrail-Digest/"); i >= 0 {
		region, _, _ := strings.Cut(dir[i+len("/CloudTrail-Digest/"):], "/")
		dir = dir[:i] + "/CloudTrail-Digest/" + region + "/" + t.Format("2006/01/02")
	}
	base := path.Base(like)
	if i := strings.LastIndex(base, "_"); i > 0 {
		base = base[:i]
	}
	return dir + "/" + base + "_" + t.Format("20060102T150405Z") + ".json.gz"
}

// checkSignatures verifies each digest's SHA256withRSA signature: from --signatures, else as
// its successor records it (previousDigestSignature). Either is checked against the public key,
// so neither is trusted for itself.
func (v *verifier) checkSignatures(digests []*localFile, embedded map[*localFile]string) {
	if len(digests) == 0 {
		return
	}
	if len(v.opts.Keys) == 0 {
		v.add(v.root, NoPublicKey, "%d digests, and no --public-key to check their signatures with "+
			"(aws cloudtrail list-public-keys gives CloudTrail's keys)", len(digests))
		return
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range v.opts.Keys {
		for _, fp := range k.Fingerprints {
			keys[fp] = k.Key
		}
	}
	unknown := map[string][]string{}
	var noSig []*localFile
	for _, f := range digests {
		d := f.digest
		if d.DigestSignatureAlgorithm != "" && d.DigestSignatureAlgorithm != "SHA256withRSA" {
			v.add(f.path, UnsupportedAlgo, "signed with %q; only SHA256withRSA is known", d.DigestSignatureAlgorithm)
			continue
		}
		fp := strings.ToLower(d.DigestPublicKeyFingerprint)
		pub := keys[fp]
		if pub == nil {
			unknown[fp] = append(unknown[fp], f.key)
			continue
		}
		sigHex, from := "", ""
		if s, ok := v.opts.Signatures[f.key]; ok {
			sigHex, from = s.Signature, "the --signatures file"
			if s.Algorithm != "" && s.Algorithm != "SHA256withRSA" {
				v.add(f.path, UnsupportedAlgo, "the --signatures file gives algorithm %q; only SHA256withRSA is known", s.Algorithm)
				continue
			}
		} else if s, ok := v.opts.Signatures[s3Key(d.DigestS3Object)]; ok {
			sigHex, from = s.Signature, "the --signatures file"
		} else if s, ok := embedded[f]; ok {
			sigHex, from = s, "the next digest's previousDigestSignature"
		}
		if sigHex == "" {
			noSig = append(noSig, f)
			continue
		}
		hash := sha256.Sum256([]byte(d.signingString(f.hash)))
		sig, err := hex.DecodeString(strings.TrimSpace(sigHex))
		if err == nil {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, hash[:], sig)
		}
		if err != nil {
			detail := "its signature from " + from + " does not verify with the key " + fp
			if e, ok := embedded[f]; ok && e != sigHex && verifies(pub, hash[:], e) {
				detail += "; the signature the next digest records does: the digest is intact, the signature given for it is not"
			}
			v.add(f.path, BadSignature, "%s", detail)
			continue
		}
		if e, ok := embedded[f]; ok && !strings.EqualFold(e, sigHex) {
			v.add(f.path, PreviousSignature, "its signature verifies, but the next digest records another one for it")
		}
	}
	for _, f := range noSig {
		v.add(f.path, NoSignature, "no signature for it: it is the newest digest of its chain (or nothing in the tree follows it), so only "+
			"its S3 metadata has one; pass it with --signatures")
	}
	for _, fp := range sortedKeys(unknown) {
		ks := unknown[fp]
		v.add(ks[0], NoPublicKey, "%d digests signed with the key %s; no --public-key has that fingerprint", len(ks), cmp.Or(fp, `""`))
	}
}

func verifies(pub *rsa.PublicKey, hash []byte, sigHex string) bool {
	sig, err := hex.DecodeString(strings.TrimSpace(sigHex))
	return err == nil && rsa.VerifyPKCS1v15(pub, crypto.SHA256, hash, sig) == nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (v *verifier) result() *Result {
	r := &v.res
	slices.SortFunc(v.problems, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.File, b.File), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Detail, b.Detail))
	})
	r.Problems = slices.CompactFunc(v.problems, func(a, b Problem) bool { return a == b })
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	counts := map[string]int{}
	invalid, unverifiable := 0, 0
	for _, p := range r.Problems {
		counts[p.Kind]++
		if unverifiableKinds[p.Kind] {
			unverifiable++
		} else {
			invalid++
		}
	}
	var parts []string
	for _, k := range sortedKeys(counts) {
		if (invalid > 0) != unverifiableKinds[k] {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	switch {
	case invalid > 0:
		r.Status = Invalid
	case unverifiable > 0:
		r.Status = Unverifiable
	default:
		r.Status = Valid
	}
	r.Reason = strings.Join(parts, ", ")
	return r
}
