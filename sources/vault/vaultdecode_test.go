package vault

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/bytedance/sonic"
	"github.com/vaultsentry/vaultsentry/internal/testutil"
)

// checkFastMatchesSonic is the contract of decodeVaultFast: when it accepts a line, sonic
// accepts it too and decodes the same values.
func checkFastMatchesSonic(t testing.TB, line []byte) (fast bool) {
	var got vaultLine
	if !decodeVaultFast(line, &got) {
		return false
	}
	var e vaultEntry
	if err := sonic.Unmarshal(line, &e); err != nil {
		if strings.Contains(err.Error(), "too deep") || strings.Contains(err.Error(), "nested") || strings.Contains(err.Error(), "depth") {
			return true // the one documented difference: nesting in a skipped field has no limit
		}
		t.Fatalf("fast path accepts what sonic rejects (%v):\n%q", err, line)
	}
	var want vaultLine
	want.fromEntry(&e)
	norm := func(v *vaultLine) {
		for _, a := range []*vaultAuthFields{&v.Auth, &v.RespAuth} {
			for _, l := range []*[]string{&a.Policies, &a.TokenPolicies, &a.IdentityPolicies} {
				if len(*l) == 0 {
					*l = nil
				}
			}
		}
	}
	norm(&got)
	norm(&want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast path and sonic disagree on\n%q\n fast %+v\nsonic %+v", line, got, want)
	}
	return true
}

func TestDecodeVaultFastMatchesSonic(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	fast, total := 0, 0
	for name, data := range testInputs(t) {
		if name == "mix" {
			continue // the same lines as "lines"
		}
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			line = bytes.TrimSpace(line)
			if i := bytes.IndexByte(line, '{'); i < 0 {
				continue
			} else {
				line = line[i:]
			}
			for _, l := range append(testutil.Mutations(r, line), line) {
				if len(l) == 0 || l[0] != '{' {
					continue
				}
				total++
				if checkFastMatchesSonic(t, l) {
					fast++
				}
			}
		}
	}
	t.Logf("%d of %d lines on the fast path", fast, total)
	// The corpus lines themselves must nearly all take the fast path, or it is not one.
	for _, l := range vaultLines[:12] {
		if !checkFastMatchesSonic(t, []byte(l)) {
			t.Errorf("ordinary line not on the fast path: %s", l)
		}
	}
}

// FuzzFieldDecoder checks the field decoder against sonic on arbitrary lines.
func FuzzFieldDecoder(f *testing.F) {
	for _, l := range vaultLines {
		f.Add([]byte(l))
	}
	f.Add([]byte(`{"request":{"data":{"no_parent":true}},"response":{"data":{"error":0}}}`))
	f.Add([]byte(`{"auth":{"metadata":{"role":"r","service_account_name":"a","service_account_namespace":"n","x":{"y":[1]}}},"response":{"auth":{"metadata":{"canonical_arn":"arn:aws:iam::1:role/r"}}}}`))
	f.Add([]byte(`{"x":[0.1,2,3e5,-0,{"a":[]}],"y":"\\\"","time":"` + strings.Repeat("a", 40) + `"}`))
	f.Add([]byte(`{"a":"\q","b":"\u12zz","c":"\u00e9\/","d":"` + "\x01\t" + `"}`))
	f.Add([]byte("{\t\"a\" :\r\n[\"\\\\\"]}"))
	f.Fuzz(func(t *testing.T, line []byte) {
		if len(line) == 0 || line[0] != '{' {
			return
		}
		if checkFastMatchesSonic(t, line) {
			// What the decoders accept, validStrings judges as encoding/json does.
			if got, want := validStrings(line), json.Valid(line); got != want {
				t.Fatalf("validStrings = %v, encoding/json %v on\n%q", got, want, line)
			}
		}
	})
}
