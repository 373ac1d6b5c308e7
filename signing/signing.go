// Package signing signs and verifies files in the SSH signature format (OpenSSH's
// PROTOCOL.sshsig), the one `ssh-keygen -Y sign` writes and `ssh-keygen -Y verify` checks, so an
// auditor verifies a review's manifest with a standard tool and a key they already trust. The
// format is github.com/hiddeco/sshsig's (SHA-512 message hash, rsa-sha2-512 for RSA keys, as
// ssh-keygen does); keys are read with golang.org/x/crypto/ssh.
package signing

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// Namespace is the SSHSIG namespace of a review manifest's signature: ssh-keygen's -n, which
// keeps a signature made for one purpose from being accepted for another.
const Namespace = "vaultsentry-review"

// ErrPassphrase is returned by ParsePrivateKey for a key protected by a passphrase when none was
// given.
var ErrPassphrase = errors.New("the private key is protected by a passphrase")

// ParsePrivateKey reads an OpenSSH private key (ed25519, RSA, ECDSA; the "OPENSSH PRIVATE KEY"
// format ssh-keygen writes, or PEM PKCS#1/PKCS#8/SEC1). passphrase decrypts a protected key; a
// protected key without one is ErrPassphrase.
func ParsePrivateKey(pemBytes, passphrase []byte) (ssh.Signer, error) {
	var (
		s   ssh.Signer
		err error
	)
	if len(passphrase) > 0 {
		s, err = ssh.ParsePrivateKeyWithPassphrase(pemBytes, passphrase)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, errors.New("the passphrase does not decrypt the private key")
		}
		if err != nil && (strings.Contains(err.Error(), "not an encrypted key") || strings.Contains(err.Error(), "not password protected")) {
			s, err = ssh.ParsePrivateKey(pemBytes) // a passphrase for a key that needs none
		}
	} else {
		s, err = ssh.ParsePrivateKey(pemBytes)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, ErrPassphrase
		}
	}
	if err != nil {
		return nil, fmt.Errorf("not an SSH private key: %w", err)
	}
	switch s.PublicKey().Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return s, nil
	}
	return nil, fmt.Errorf("key type %s is not supported for signing (use ed25519, RSA or ECDSA)", s.PublicKey().Type())
}

// Sign signs message and returns the armored signature ("-----BEGIN SSH SIGNATURE-----"), the
// file `ssh-keygen -Y sign -n Namespace` would write.
func Sign(signer ssh.Signer, message []byte) ([]byte, error) {
	sig, err := sshsig.Sign(bytes.NewReader(message), signer, sshsig.HashSHA512, Namespace)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sshsig.Armor(sig), nil
}

// Signer is one key an allowed-signers file trusts.
type Signer struct {
	Principals []string // empty for a bare public key file
	Key        ssh.PublicKey
	Namespaces []string // the namespaces="..." option; empty allows every namespace
	Line       int
}

// ParseAllowedSigners reads ssh-keygen's allowed signers format (ssh-keygen(1) "ALLOWED
// SIGNERS": principals, options, key type, base64 key, comment per line) or a bare public key
// file (id_ed25519.pub, authorized_keys lines). cert-authority lines are not supported: they
// are an error, not silently skipped.
func ParseAllowedSigners(data []byte) ([]Signer, error) {
	var out []Signer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil && !strings.Contains(line, "cert-authority") && keyFirst(line) {
			out = append(out, Signer{Key: k, Line: n})
			continue
		}
		s, err := parseSignerLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		s.Line = n
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no public key in it")
	}
	return out, nil
}

// keyFirst reports whether the line starts with a key type (a bare public key, no principals).
func keyFirst(line string) bool {
	f := strings.Fields(line)
	return len(f) >= 2 && isKeyType(f[0])
}

func isKeyType(s string) bool {
	switch s {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
		return true
	}
	return false
}

// parseSignerLine reads "principals [options] keytype base64 [comment]". Options are
// comma-separated and may quote values (namespaces="a,b").
func parseSignerLine(line string) (Signer, error) {
	principals, rest, ok := cutField(line)
	if !ok {
		return Signer{}, errors.New("want principals, then a public key")
	}
	var s Signer
	for _, p := range strings.Split(principals, ",") {
		if p = strings.TrimSpace(p); p != "" {
			s.Principals = append(s.Principals, p)
		}
	}
	typ, rest2, _ := cutField(rest)
	if !isKeyType(typ) {
		var opts string
		opts, rest = cutOptions(rest)
		for _, o := range splitOptions(opts) {
			name, val, _ := strings.Cut(o, "=")
			switch strings.ToLower(name) {
			case "cert-authority":
				return Signer{}, errors.New("cert-authority lines (SSH certificates) are not supported: list the signer's own public key")
			case "namespaces":
				for _, ns := range strings.Split(strings.Trim(val, `"`), ",") {
					s.Namespaces = append(s.Namespaces, strings.TrimSpace(ns))
				}
			}
		}
		typ, rest2, _ = cutField(rest)
	}
	if !isKeyType(typ) {
		return Signer{}, fmt.Errorf("%q is not an SSH public key type", typ)
	}
	b64, _, _ := cutField(rest2)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return Signer{}, fmt.Errorf("the public key is not base64: %w", err)
	}
	if s.Key, err = ssh.ParsePublicKey(raw); err != nil {
		return Signer{}, fmt.Errorf("the public key: %w", err)
	}
	return s, nil
}

func cutField(s string) (field, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", s != ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t"), true
}

// cutOptions takes the options field, which may contain quoted spaces.
func cutOptions(s string) (opts, rest string) {
	quoted := false
	for i, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
		case (c == ' ' || c == '\t') && !quoted:
			return s[:i], strings.TrimLeft(s[i:], " \t")
		}
	}
	return s, ""
}

func splitOptions(s string) []string {
	var out []string
	quoted, start := false, 0
	for i, c := range s {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Verification is what Verify found.
type Verification struct {
	Fingerprint string   // SHA256:... of the signing key
	Principals  []string // the allowed signer's principals ("" entries for a bare key)
}

// Verify checks the armored signature of message against the trusted keys, as
// `ssh-keygen -Y verify -n Namespace` does: the signature must be well formed, made for
// Namespace, by one of the keys (whose namespaces option, if any, allows Namespace), over
// message.
func Verify(message, armored []byte, trusted []Signer) (Verification, error) {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return Verification{}, fmt.Errorf("not an SSH signature: %w", err)
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	if sig.Namespace != Namespace {
		return Verification{Fingerprint: fp}, fmt.Errorf("the signature is for namespace %q, not %q", sig.Namespace, Namespace)
	}
	var match *Signer
	for i := range trusted {
		if ssh.FingerprintSHA256(trusted[i].Key) != fp {
			continue
		}
		if len(trusted[i].Namespaces) > 0 && !contains(trusted[i].Namespaces, Namespace) {
			continue
		}
		match = &trusted[i]
		break
	}
	if match == nil {
		return Verification{Fingerprint: fp}, fmt.Errorf("the signing key %s is not among the allowed signers", fp)
	}
	if err := sshsig.Verify(bytes.NewReader(message), sig, match.Key, sig.HashAlgorithm, Namespace); err != nil {
		return Verification{Fingerprint: fp}, fmt.Errorf("the signature does not match the file (%v): it was changed after signing", err)
	}
	return Verification{Fingerprint: fp, Principals: match.Principals}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
