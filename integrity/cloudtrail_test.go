package integrity

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testKey is the RSA key the tests sign digests with, made once (2048 bits takes a moment).
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// genTree is a generated S3 export: digests chaining hourly per account and region, gzip log
// files with the real SHA-256 of their decompressed bytes, signatures in a sidecar.
type genTree struct {
	root    string              // the folder holding AWSLogs/
	digests map[string][]string // stream ("account region") -> digest keys, oldest first
	logs    map[string][]string // digest key -> the log file keys it lists
	extra   []string            // log files delivered after the newest digest
	sigs    Signatures
	pubPEM  []byte
}

type genConfig struct {
	hours       int
	logsPerHour int
	recordBytes int // about this many bytes of records per log file
}

var start = time.Date(2026, 9, 11, 0, 0, 12, 0, time.UTC)

// generate writes a tree: two accounts (one under an organisation's o- folder), two regions,
// hourly digests. key is the signing key; nil: testKey().
func generate(t testing.TB, cfg genConfig) *genTree {
	t.Helper()
	key := testKey()
	g := &genTree{root: t.TempDir(), digests: map[string][]string{}, logs: map[string][]string{}, sigs: Signatures{}}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	g.pubPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	fp := Fingerprint(&key.PublicKey)
	type acct struct{ prefix, id string }
	for _, a := range []acct{{"AWSLogs/111122223333", "111122223333"}, {"AWSLogs/o-abc123def4/444455556666", "444455556666"}} {
		for _, region := range []string{"eu-west-1", "us-east-1"} {
			streamID := a.id + " " + region
			var prevKey, prevHash, prevSig *string
			for h := range cfg.hours {
				begin, end := start.Add(time.Duration(h)*time.Hour), start.Add(time.Duration(h+1)*time.Hour)
				var files []map[string]any
				var keys []string
				for i := range cfg.logsPerHour {
					delivered := begin.Add(time.Duration(5+i*50/cfg.logsPerHour) * time.Minute)
					k := logKey(a.prefix, a.id, region, delivered, fmt.Sprintf("%s%02d%02d", region[:2], h, i))
					body := records(delivered, cfg.recordBytes)
					g.write(t, k, gz(body))
					sum := sha256.Sum256(body)
					files = append(files, map[string]any{"s3Bucket": "org-trail-logs", "s3Object": k, "hashValue": hex.EncodeToString(sum[:]),
						"hashAlgorithm": "SHA-256", "newestEventTime": delivered.Format(time.RFC3339), "oldestEventTime": delivered.Format(time.RFC3339)})
					keys = append(keys, k)
				}
				dk := fmt.Sprintf("%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_org-trail_eu-west-1_%s.json.gz",
					a.prefix, region, end.Format("2006/01/02"), a.id, region, end.Format("20060102T150405Z"))
				d := map[string]any{"awsAccountId": a.id, "digestStartTime": begin.Format(time.RFC3339), "digestEndTime": end.Format(time.RFC3339),
					"digestS3Bucket": "org-trail-logs", "digestS3Object": dk, "digestPublicKeyFingerprint": fp,
					"digestSignatureAlgorithm": "SHA256withRSA", "previousDigestS3Bucket": nil, "previousDigestS3Object": prevKey,
					"previousDigestHashValue": prevHash, "previousDigestHashAlgorithm": nil, "previousDigestSignature": prevSig, "logFiles": files}
				if prevKey != nil {
					d["previousDigestS3Bucket"], d["previousDigestHashAlgorithm"] = "org-trail-logs", "SHA-256"
				}
				body, _ := json.Marshal(d)
				sum := sha256.Sum256(body)
				sig := sign(t, key, body, end.Format(time.RFC3339), "org-trail-logs/"+dk, prevSig)
				g.write(t, dk, gz(body))
				g.sigs[dk] = Signature{Signature: sig, Algorithm: "SHA256withRSA"}
				g.digests[streamID] = append(g.digests[streamID], dk)
				g.logs[dk] = keys
				hs := hex.EncodeToString(sum[:])
				prevKey, prevHash, prevSig = &dk, &hs, &sig
			}
			// Delivered after the newest digest ended: the next digest will list it.
			late := start.Add(time.Duration(cfg.hours)*time.Hour + 20*time.Minute)
			k := logKey(a.prefix, a.id, region, late, "late"+region[:2])
			g.write(t, k, gz(records(late, cfg.recordBytes)))
			g.extra = append(g.extra, k)
		}
	}
	return g
}

func logKey(prefix, id, region string, t time.Time, suffix string) string {
	return fmt.Sprintf("%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz", prefix, region, t.Format("2006/01/02"), id, region,
		t.Format("20060102T1504Z"), suffix)
}

func sign(t testing.TB, key *rsa.PrivateKey, body []byte, end, object string, prevSig *string) string {
	t.Helper()
	prev := "null"
	if prevSig != nil {
		prev = *prevSig
	}
	sum := sha256.Sum256(body)
	msg := sha256.Sum256([]byte(end + "\n" + object + "\n" + hex.EncodeToString(sum[:]) + "\n" + prev))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, msg[:])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

func records(t time.Time, size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := 0; b.Len() < size || i == 0; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.09","eventTime":"%s","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue",`+
			`"awsRegion":"eu-west-1","sourceIPAddress":"10.0.%d.%d","requestParameters":{"secretId":"prod/db/%d"},"eventID":"%08x-0000"}`,
			t.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i/250%250, i%250, i%40, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func (g *genTree) path(key string) string { return filepath.Join(g.root, filepath.FromSlash(key)) }

func (g *genTree) write(t testing.TB, key string, data []byte) {
	t.Helper()
	p := g.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (g *genTree) read(t testing.TB, key string) []byte {
	t.Helper()
	b, err := os.ReadFile(g.path(key))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (g *genTree) remove(t testing.TB, key string) {
	t.Helper()
	if err := os.Remove(g.path(key)); err != nil {
		t.Fatal(err)
	}
}

func (g *genTree) options(t testing.TB) Options {
	t.Helper()
	keys, err := ParsePublicKeys(g.pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	sigs := Signatures{}
	for k, v := range g.sigs {
		sigs[k] = v
	}
	return Options{Signatures: sigs, Keys: keys, Workers: 2}
}

// got is a problem as the tests compare it: kind and the file's S3 key.
type got struct{ Kind, Key string }

func problems(r *Result) []got {
	var out []got
	for _, p := range r.Problems {
		out = append(out, got{p.Kind, s3Key(p.File)})
	}
	slices.SortFunc(out, func(a, b got) int { return strings.Compare(a.Kind+a.Key, b.Kind+b.Key) })
	return out
}

func want(ps ...got) []got {
	slices.SortFunc(ps, func(a, b got) int { return strings.Compare(a.Kind+a.Key, b.Kind+b.Key) })
	return ps
}

const stream1 = "111122223333 eu-west-1"

func TestVerifyCloudTrail(t *testing.T) {
	cfg := genConfig{hours: 6, logsPerHour: 2, recordBytes: 2000}
	tests := []struct {
		name   string
		change func(t *testing.T, g *genTree, o *Options) // what is done to the tree
		root   func(g *genTree) string                    // default: g.root
		status Status
		want   func(g *genTree) []got
	}{
		{name: "a valid tree is valid", status: Valid, want: func(*genTree) []got { return nil }},
		{name: "the tree given at its AWSLogs folder", status: Valid, root: func(g *genTree) string { return filepath.Join(g.root, "AWSLogs") },
			want: func(*genTree) []got { return nil }},
		{name: "an organisation's account folder alone", status: Valid,
			root: func(g *genTree) string { return filepath.Join(g.root, "AWSLogs", "o-abc123def4", "444455556666") },
			want: func(*genTree) []got { return nil }},
		{name: "a log file decompressed on the way keeps its hash", status: Valid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				k := g.logs[g.digests[stream1][2]][0]
				g.write(t, strings.TrimSuffix(k, ".gz"), gunzip(t, g.read(t, k)))
				g.remove(t, k)
			},
			want: func(*genTree) []got { return nil }},
		{name: "one log file changed by one byte", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				k := g.logs[g.digests[stream1][2]][1]
				b := gunzip(t, g.read(t, k))
				b[20] ^= 1
				g.write(t, k, gz(b))
			},
			want: func(g *genTree) []got { return []got{{HashMismatch, g.logs[g.digests[stream1][2]][1]}} }},
		{name: "one byte of the gzip file changed", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				k := g.logs[g.digests[stream1][3]][0]
				b := g.read(t, k)
				b[len(b)/2] ^= 0x40
				g.write(t, k, b)
			},
			want: func(g *genTree) []got { return []got{{HashMismatch, g.logs[g.digests[stream1][3]][0]}} }},
		{name: "one log file deleted", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) { g.remove(t, g.logs[g.digests[stream1][1]][0]) },
			want:   func(g *genTree) []got { return []got{{MissingLogFile, g.logs[g.digests[stream1][1]][0]}} }},
		{name: "a log file no digest lists", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				g.write(t, planted, gz(records(start.Add(90*time.Minute), 500)))
			},
			want: func(g *genTree) []got { return []got{{UnlistedLogFile, planted}} }},
		{name: "a log file moved to another key", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				k := g.logs[g.digests[stream1][1]][0]
				g.write(t, planted, g.read(t, k))
				g.remove(t, k)
			},
			want: func(g *genTree) []got { return []got{{MovedLogFile, planted}} }},
		{name: "one digest deleted", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) { g.remove(t, g.digests[stream1][2]) },
			want: func(g *genTree) []got {
				d := g.digests[stream1][2]
				return []got{{MissingDigest, d}, {UnlistedLogFile, g.logs[d][0]}, {UnlistedLogFile, g.logs[d][1]}}
			}},
		{name: "two consecutive digests deleted (aws-cli#7054)", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				g.remove(t, g.digests[stream1][2])
				g.remove(t, g.digests[stream1][3])
			},
			want: func(g *genTree) []got {
				d2, d3 := g.digests[stream1][2], g.digests[stream1][3]
				return []got{{MissingDigest, d2}, {MissingDigest, d3},
					{UnlistedLogFile, g.logs[d2][0]}, {UnlistedLogFile, g.logs[d2][1]}, {UnlistedLogFile, g.logs[d3][0]}, {UnlistedLogFile, g.logs[d3][1]}}
			}},
		{name: "three consecutive digests deleted", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				for _, i := range []int{1, 2, 3} {
					g.remove(t, g.digests[stream1][i])
					for _, l := range g.logs[g.digests[stream1][i]] {
						g.remove(t, l)
					}
				}
			},
			want: func(g *genTree) []got {
				return []got{{MissingDigest, g.digests[stream1][1]}, {MissingDigest, g.digests[stream1][2]}, {MissingDigest, g.digests[stream1][3]}}
			}},
		{name: "the oldest digest deleted", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) { g.remove(t, g.digests[stream1][0]) },
			want: func(g *genTree) []got {
				d := g.digests[stream1][0]
				return []got{{MissingDigest, d}, {UnlistedLogFile, g.logs[d][0]}, {UnlistedLogFile, g.logs[d][1]}}
			}},
		{name: "a root that is a symbolic link", status: Valid,
			root: func(g *genTree) string {
				link := filepath.Join(filepath.Dir(g.root), filepath.Base(g.root)+"-link")
				if err := os.Symlink(g.root, link); err != nil {
					panic(err)
				}
				return link
			},
			want: func(*genTree) []got { return nil }},
		{name: "a digest moved", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				k := g.digests[stream1][2]
				g.write(t, moved(k), g.read(t, k))
				g.remove(t, k)
			},
			want: func(g *genTree) []got { return []got{{MovedDigest, moved(g.digests[stream1][2])}} }},
		{name: "a digest copied to another key", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				k := g.digests[stream1][2]
				g.write(t, moved(k), g.read(t, k))
			},
			want: func(g *genTree) []got { return []got{{MovedDigest, moved(g.digests[stream1][2])}} }},
		{name: "a signature altered", status: Invalid,
			change: func(_ *testing.T, g *genTree, o *Options) {
				k := g.digests[stream1][4]
				s := o.Signatures[k]
				s.Signature = flipHex(s.Signature)
				o.Signatures[k] = s
			},
			want: func(g *genTree) []got { return []got{{BadSignature, g.digests[stream1][4]}} }},
		{name: "the newest digest's signature altered", status: Invalid,
			change: func(_ *testing.T, g *genTree, o *Options) {
				k := g.digests[stream1][5]
				s := o.Signatures[k]
				s.Signature = flipHex(s.Signature)
				o.Signatures[k] = s
			},
			want: func(g *genTree) []got { return []got{{BadSignature, g.digests[stream1][5]}} }},
		{name: "a digest's content changed", status: Invalid,
			change: func(t *testing.T, g *genTree, _ *Options) {
				k := g.digests[stream1][2]
				b := bytes.Replace(gunzip(t, g.read(t, k)), []byte(`"awsAccountId":"111122223333"`), []byte(`"awsAccountId":"111122223334"`), 1)
				g.write(t, k, gz(b))
			},
			want: func(g *genTree) []got {
				return []got{{BadSignature, g.digests[stream1][2]}, {PreviousDigestMismatch, g.digests[stream1][3]}}
			}},
		{name: "no signatures: only the newest digest of each chain lacks one", status: Unverifiable,
			change: func(_ *testing.T, _ *genTree, o *Options) { o.Signatures = nil },
			want: func(g *genTree) []got {
				var out []got
				for _, ks := range g.digests {
					out = append(out, got{NoSignature, ks[len(ks)-1]})
				}
				return out
			}},
		{name: "no public key", status: Unverifiable,
			change: func(_ *testing.T, _ *genTree, o *Options) { o.Keys = nil },
			want:   func(g *genTree) []got { return []got{{NoPublicKey, s3Key(g.root)}} }},
		{name: "no public key with the digests' fingerprint", status: Unverifiable,
			change: func(t *testing.T, _ *genTree, o *Options) {
				other, err := rsa.GenerateKey(rand.Reader, 1024)
				if err != nil {
					t.Fatal(err)
				}
				o.Keys = []PublicKey{newPublicKey(&other.PublicKey)}
			},
			want: func(g *genTree) []got { return []got{{NoPublicKey, firstDigest(g)}} }},
		{name: "a changed file beats a missing signature", status: Invalid,
			change: func(t *testing.T, g *genTree, o *Options) {
				o.Signatures = nil
				g.remove(t, g.logs[g.digests[stream1][1]][0])
			},
			want: func(g *genTree) []got {
				out := []got{{MissingLogFile, g.logs[g.digests[stream1][1]][0]}}
				for _, ks := range g.digests {
					out = append(out, got{NoSignature, ks[len(ks)-1]})
				}
				return out
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := generate(t, cfg)
			o := g.options(t)
			if tt.change != nil {
				tt.change(t, g, &o)
			}
			root := g.root
			if tt.root != nil {
				root = tt.root(g)
			}
			r, err := VerifyCloudTrail(context.Background(), root, o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want(tt.want(g)...), problems(r)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%s", diff, dump(r))
			}
			if r.Status != tt.status {
				t.Errorf("status %s, want %s\n%s", r.Status, tt.status, dump(r))
			}
		})
	}
}

// TestHashOfCompressedBytes: a digest that lists the SHA-256 of the .gz bytes (not CloudTrail's
// way) is a mismatch, and the detail says what the listed hash is.
func TestHashOfCompressedBytes(t *testing.T) {
	g := generate(t, genConfig{hours: 2, logsPerHour: 1, recordBytes: 300})
	d := g.digests[stream1][1]
	l := g.logs[d][0]
	raw := sha256.Sum256(g.read(t, l))
	body := gunzip(t, g.read(t, d))
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	doc["logFiles"].([]any)[0].(map[string]any)["hashValue"] = hex.EncodeToString(raw[:])
	body, _ = json.Marshal(doc)
	g.write(t, d, gz(body))
	r, err := VerifyCloudTrail(context.Background(), g.root, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, p := range r.Problems {
		if p.Kind == HashMismatch && s3Key(p.File) == l {
			found = strings.Contains(p.Detail, "compressed file")
		}
	}
	if !found || r.Status != Invalid {
		t.Errorf("want a hash-mismatch on %s that names the compressed bytes\n%s", l, dump(r))
	}
}

// FuzzParseDigest: a digest file, the --public-key and --signatures readers never panic.
func FuzzParseDigest(f *testing.F) {
	for _, p := range []string{"../testdata/cloudtrail/awsdocs-ct-digest-file-example.json", "../testdata/cloudtrail/awsdocs-ct-digest-file-empty-example.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"PublicKeyList":[{"Value":"AAAA"}]}`))
	f.Add([]byte(`{"AWSLogs/x": {"Metadata": {"signature": "ab"}}}`))
	f.Fuzz(func(_ *testing.T, b []byte) {
		if d, err := parseDigest(b); err == nil {
			_ = d.signingString(sha256.Sum256(b))
			_ = d.previous()
		}
		ParsePublicKeys(b)
		ReadSignatures(bytes.NewReader(b))
	})
}

// TestVerifyCloudTrailCounts checks the counts and the not-yet-covered files of a valid tree.
func TestVerifyCloudTrailCounts(t *testing.T) {
	g := generate(t, genConfig{hours: 3, logsPerHour: 2, recordBytes: 500})
	r, err := VerifyCloudTrail(context.Background(), g.root, g.options(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Valid || r.Digests != 12 || r.LogFiles != 4*3*2+4 || r.NotYetCovered != 4 {
		t.Errorf("got %s, %d digests, %d log files, %d not yet covered; want valid, 12, 28, 4\n%s", r.Status, r.Digests, r.LogFiles, r.NotYetCovered, dump(r))
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "not yet covered") {
		t.Errorf("notes %q, want one on the files not yet covered", r.Notes)
	}
}

func TestVerifyCloudTrailNotATree(t *testing.T) {
	r, err := VerifyCloudTrail(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Unverifiable || len(r.Problems) != 1 || r.Problems[0].Kind != NoCloudTrailTree {
		t.Errorf("got %s\n%s", r.Status, dump(r))
	}
	if _, err := VerifyCloudTrail(context.Background(), filepath.Join(t.TempDir(), "absent"), Options{}); err == nil {
		t.Error("a missing root is an error")
	}
}

func TestParsePublicKeys(t *testing.T) {
	k := testKey()
	pkcs1 := x509.MarshalPKCS1PublicKey(&k.PublicKey)
	pkix, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	b64 := func(b []byte) string { return strings.TrimSpace(string(pemBase64(b))) }
	fp := Fingerprint(&k.PublicKey)
	for name, in := range map[string]string{
		"PEM PUBLIC KEY":     string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})),
		"PEM RSA PUBLIC KEY": string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})),
		"base64 DER":         b64(pkcs1) + "\n",
		"list-public-keys":   `{"PublicKeyList":[{"Value":"` + b64(pkcs1) + `","Fingerprint":"` + fp + `"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			keys, err := ParsePublicKeys([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || !keys[0].Key.Equal(&k.PublicKey) || !slices.Contains(keys[0].Fingerprints, fp) {
				t.Errorf("got %d keys, fingerprints %v; want the test key with %s", len(keys), keys[0].Fingerprints, fp)
			}
		})
	}
	for _, bad := range []string{"", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not base64!", `{"PublicKeyList":[]}`} {
		if _, err := ParsePublicKeys([]byte(bad)); err == nil {
			t.Errorf("ParsePublicKeys(%q): no error", bad)
		}
	}
}

func TestReadSignatures(t *testing.T) {
	in := `{"s3://bucket/prefix/AWSLogs/1/CloudTrail-Digest/x.json.gz": {"signature": "ab", "signature-algorithm": "SHA256withRSA"},
		"AWSLogs/2/CloudTrail-Digest/y.json.gz": {"Metadata": {"signature": "cd", "signature-algorithm": "SHA256withRSA"}}}`
	s, err := ReadSignatures(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	wantSigs := Signatures{"AWSLogs/1/CloudTrail-Digest/x.json.gz": {"ab", "SHA256withRSA"}, "AWSLogs/2/CloudTrail-Digest/y.json.gz": {"cd", "SHA256withRSA"}}
	if diff := cmp.Diff(wantSigs, s); diff != "" {
		t.Errorf("signatures (-want +got):\n%s", diff)
	}
	if _, err := ReadSignatures(strings.NewReader(`{"k": {}}`)); err == nil {
		t.Error("an entry without a signature: no error")
	}
}

// planted is a log file inside the digests' time range that no digest lists.
const planted = "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/09/11/111122223333_CloudTrail_eu-west-1_20260911T0130Z_planted.json.gz"

func moved(k string) string { return strings.Replace(k, "/2026/09/11/", "/2026/09/10/", 1) }

func firstDigest(g *genTree) string {
	var all []string
	for _, ks := range g.digests {
		all = append(all, ks...)
	}
	slices.Sort(all)
	return all[0]
}

func flipHex(s string) string {
	b := []byte(s)
	if b[10] == '0' {
		b[10] = '1'
	} else {
		b[10] = '0'
	}
	return string(b)
}

func pemBase64(der []byte) []byte {
	b := pem.EncodeToMemory(&pem.Block{Type: "X", Bytes: der})
	lines := strings.Split(string(b), "\n")
	return []byte(strings.Join(lines[1:len(lines)-2], ""))
}

func dump(r *Result) string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// BenchmarkVerifyCloudTrail validates a generated tree: 4 chains of 24 hourly digests, each
// listing 4 log files of about 200 KB decompressed. MB/s counts decompressed log bytes.
func BenchmarkVerifyCloudTrail(b *testing.B) {
	g := generate(b, genConfig{hours: 24, logsPerHour: 4, recordBytes: 200 << 10})
	o := g.options(b)
	o.Workers = 0
	var bytesTotal int64
	files := 0
	filepath.WalkDir(g.root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
			if strings.Contains(p, "/CloudTrail/") {
				bytesTotal += int64(len(gunzip(b, must(os.ReadFile(p)))))
			}
		}
		return nil
	})
	b.SetBytes(bytesTotal)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := VerifyCloudTrail(context.Background(), g.root, o)
		if err != nil || r.Status != Valid {
			b.Fatalf("%v %s", err, dump(r))
		}
	}
	b.ReportMetric(float64(files*b.N)/b.Elapsed().Seconds(), "files/s")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
