package signing

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// SSHKeygen finds ssh-keygen (openssh-client), which the interoperability tests run. It skips
// only when ssh-keygen is absent and neither CI nor VAULTSENTRY_REQUIRE_SSH_KEYGEN (which
// scripts/test.sh sets once it has installed openssh-client) asks for it: there it fails.
func SSHKeygen(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" || os.Getenv("VAULTSENTRY_REQUIRE_SSH_KEYGEN") != "" {
		t.Fatal("ssh-keygen is required here (CI or VAULTSENTRY_REQUIRE_SSH_KEYGEN) but not on PATH: apt-get install openssh-client")
	}
	t.Skip("no ssh-keygen on PATH: install openssh-client (scripts/test.sh does as root) to check signatures with OpenSSH itself")
	return ""
}

// newKey makes a private key of the given type in the OpenSSH format, as ssh-keygen writes it.
func newKey(t *testing.T, typ string, passphrase string) (pemBytes []byte, pub ssh.PublicKey) {
	t.Helper()
	var k crypto.Signer
	var err error
	switch typ {
	case "ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case "rsa":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ecdsa":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(k, "test", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(k, "test")
	}
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sp
}

// TestSignVerifiedBySSHKeygen signs with each key type and has OpenSSH's ssh-keygen -Y verify
// check the signature, as an auditor would; one byte changed in the message must fail there
// and in Verify.
func TestSignVerifiedBySSHKeygen(t *testing.T) {
	keygen := SSHKeygen(t)
	msg := []byte(`{"manifest_version":"1","reports":[{"file":"review.html","sha256":"00"}]}` + "\n")
	for _, typ := range []string{"ed25519", "rsa", "ecdsa"} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			key, pub := newKey(t, typ, "")
			s, err := ParsePrivateKey(key, nil)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := Sign(s, msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(sig, []byte("-----BEGIN SSH SIGNATURE-----\n")) {
				t.Fatalf("not armored:\n%s", sig)
			}
			allowed := "auditor@example.com " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + "\n"
			write := func(name string, b []byte) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			signers, msgFile, sigFile := write("allowed_signers", []byte(allowed)), write("m.json", msg), write("m.json.sig", sig)
			verify := func(file string) (string, error) {
				c := exec.Command(keygen, "-Y", "verify", "-f", signers, "-I", "auditor@example.com", "-n", Namespace, "-s", sigFile)
				in, err := os.Open(file)
				if err != nil {
					t.Fatal(err)
				}
				defer in.Close()
				c.Stdin = in
				out, err := c.CombinedOutput()
				return string(out), err
			}
			if out, err := verify(msgFile); err != nil || !strings.Contains(out, "Good \"vaultsentry-review\" signature for auditor@example.com") {
				t.Fatalf("ssh-keygen -Y verify: %v\n%s", err, out)
			}
			trusted, err := ParseAllowedSigners([]byte(allowed))
			if err != nil {
				t.Fatal(err)
			}
			v, err := Verify(msg, sig, trusted)
			if err != nil || len(v.Principals) != 1 || v.Principals[0] != "auditor@example.com" {
				t.Fatalf("Verify = %+v, %v", v, err)
			}

			changed := bytes.Clone(msg)
			changed[10] ^= 1
			if out, err := verify(write("changed.json", changed)); err == nil {
				t.Errorf("ssh-keygen accepted a changed message:\n%s", out)
			}
			if _, err := Verify(changed, sig, trusted); err == nil || !strings.Contains(err.Error(), "changed after signing") {
				t.Errorf("Verify(changed) = %v", err)
			}
		})
	}
}

// TestVerifyOpenSSHSignature: a signature that ssh-keygen -Y sign made from a key ssh-keygen
// generated verifies here.
func TestVerifyOpenSSHSignature(t *testing.T) {
	keygen := SSHKeygen(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "id")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "ci", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -t ed25519: %v\n%s", err, out)
	}
	msg := filepath.Join(dir, "m.json")
	if err := os.WriteFile(msg, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(keygen, "-Y", "sign", "-f", key, "-n", Namespace, msg).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
	}
	pub, _ := os.ReadFile(key + ".pub")
	sig, _ := os.ReadFile(msg + ".sig")
	trusted, err := ParseAllowedSigners(pub) // a bare public key file
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify([]byte("{}\n"), sig, trusted); err != nil {
		t.Fatalf("Verify of ssh-keygen's signature: %v", err)
	}
	// And a key ssh-keygen wrote signs here.
	pk, _ := os.ReadFile(key)
	if _, err := ParsePrivateKey(pk, nil); err != nil {
		t.Fatalf("ParsePrivateKey of ssh-keygen's key: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	key, pub := newKey(t, "ed25519", "")
	s, _ := ParsePrivateKey(key, nil)
	msg := []byte("manifest\n")
	sig, err := Sign(s, msg)
	if err != nil {
		t.Fatal(err)
	}
	_, other := newKey(t, "ed25519", "")
	line := func(p ssh.PublicKey) string { return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(p))) }
	for _, c := range []struct {
		name, allowed string
		sig           []byte
		want          string
	}{
		{"another key", "a@x " + line(other), sig, "not among the allowed signers"},
		{"namespace not allowed", `a@x namespaces="git" ` + line(pub), sig, "not among the allowed signers"},
		{"garbage", "a@x " + line(pub), []byte("-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"), "not an SSH signature"},
	} {
		trusted, err := ParseAllowedSigners([]byte(c.allowed))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if _, err := Verify(msg, c.sig, trusted); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Verify = %v, want %q", c.name, err, c.want)
		}
	}
	// The namespaces option naming ours, and two principals, are accepted.
	trusted, err := ParseAllowedSigners([]byte("# team\na@x,b@x namespaces=\"git,vaultsentry-review\" " + line(pub) + " laptop\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := Verify(msg, sig, trusted); err != nil || strings.Join(v.Principals, ",") != "a@x,b@x" {
		t.Errorf("Verify = %+v, %v", v, err)
	}
	if _, err := ParseAllowedSigners([]byte("a@x cert-authority " + line(pub))); err == nil || !strings.Contains(err.Error(), "cert-authority") {
		t.Errorf("cert-authority: %v", err)
	}
	if _, err := ParseAllowedSigners([]byte("# nothing\n")); err == nil {
		t.Error("an empty allowed signers file should be an error")
	}
}

func TestParsePrivateKeyPassphrase(t *testing.T) {
	key, _ := newKey(t, "ed25519", "hunter2")
	if _, err := ParsePrivateKey(key, nil); !errors.Is(err, ErrPassphrase) {
		t.Errorf("no passphrase: %v, want ErrPassphrase", err)
	}
	if _, err := ParsePrivateKey(key, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := ParsePrivateKey(key, []byte("hunter2")); err != nil {
		t.Errorf("right passphrase: %v", err)
	}
	plain, _ := newKey(t, "rsa", "")
	if _, err := ParsePrivateKey(plain, []byte("unneeded")); err != nil {
		t.Errorf("a passphrase for an unprotected key: %v", err)
	}
	if _, err := ParsePrivateKey([]byte("ssh-ed25519 AAAA"), nil); err == nil || !strings.Contains(err.Error(), "not an SSH private key") {
		t.Errorf("a public key: %v", err)
	}
}
