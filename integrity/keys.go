package integrity

import (
	"bytes"
	"crypto/md5" // CloudTrail names its keys by an MD5 of the key: an identifier, not a check
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
)

// PublicKey is a CloudTrail public key and the fingerprints a digest may name it by
// (digestPublicKeyFingerprint).
type PublicKey struct {
	Key          *rsa.PublicKey
	Fingerprints []string // lowercase hex
}

// Fingerprint is the MD5 of the key's PKCS #1 DER encoding, in hex: the form of the DER value
// ListPublicKeys returns and of digestPublicKeyFingerprint.
func Fingerprint(k *rsa.PublicKey) string {
	sum := md5.Sum(x509.MarshalPKCS1PublicKey(k))
	return hex.EncodeToString(sum[:])
}

func newPublicKey(k *rsa.PublicKey, extra ...string) PublicKey {
	fps := []string{Fingerprint(k)}
	// The same key in PKIX (SubjectPublicKeyInfo) form: what a "PUBLIC KEY" PEM block holds. Both
	// are accepted, since a fingerprint only picks the key; the RSA verification is the check.
	if der, err := x509.MarshalPKIXPublicKey(k); err == nil {
		sum := md5.Sum(der)
		fps = append(fps, hex.EncodeToString(sum[:]))
	}
	for _, e := range extra {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			fps = append(fps, e)
		}
	}
	return PublicKey{Key: k, Fingerprints: fps}
}

// ParsePublicKeys reads the public keys of one --public-key file: PEM blocks ("PUBLIC KEY" or
// "RSA PUBLIC KEY", several allowed), the base64 DER value that ListPublicKeys returns (one per
// line), or the JSON output of `aws cloudtrail list-public-keys` ({"PublicKeyList":[{"Value",
// "Fingerprint"}]}).
func ParsePublicKeys(data []byte) ([]PublicKey, error) {
	data = bytes.TrimSpace(data)
	switch {
	case len(data) == 0:
		return nil, errors.New("no key in the file")
	case bytes.HasPrefix(data, []byte("-----BEGIN")):
		var keys []PublicKey
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			k, err := parseDER(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("read PEM block %q: %w", b.Type, err)
			}
			keys = append(keys, newPublicKey(k))
		}
		if len(keys) == 0 {
			return nil, errors.New("no PEM block could be read")
		}
		return keys, nil
	case data[0] == '{' || data[0] == '[':
		var list struct {
			PublicKeyList []struct {
				Value       string
				Fingerprint string
			}
		}
		if data[0] == '[' {
			data = append(append([]byte(`{"PublicKeyList":`), data...), '}')
		}
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("read list-public-keys JSON: %w", err)
		}
		var keys []PublicKey
		for i, e := range list.PublicKeyList {
			k, err := parseBase64DER(e.Value)
			if err != nil {
				return nil, fmt.Errorf("read PublicKeyList[%d].Value: %w", i, err)
			}
			keys = append(keys, newPublicKey(k, e.Fingerprint))
		}
		if len(keys) == 0 {
			return nil, errors.New("the JSON has no PublicKeyList entry")
		}
		return keys, nil
	}
	var keys []PublicKey
	for i, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, err := parseBase64DER(line)
		if err != nil {
			return nil, fmt.Errorf("read line %d as base64 DER: %w", i+1, err)
		}
		keys = append(keys, newPublicKey(k))
	}
	return keys, nil
}

func parseBase64DER(s string) (*rsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, err
	}
	return parseDER(der)
}

// parseDER reads PKCS #1 (what ListPublicKeys returns) or PKIX DER.
func parseDER(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("neither a PKCS #1 nor a PKIX public key")
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T key, not RSA", k)
	}
	return rk, nil
}

// Signature is a digest's signature as S3 keeps it in the object's metadata
// (x-amz-meta-signature, x-amz-meta-signature-algorithm).
type Signature struct {
	Signature string `json:"signature"`           // hex
	Algorithm string `json:"signature-algorithm"` // SHA256withRSA
}

// Signatures are the digests' signatures by S3 key, keys cut at their AWSLogs/ segment.
type Signatures map[string]Signature

// ReadSignatures reads a --signatures file: a JSON object from each digest's S3 key to
// {"signature": hex, "signature-algorithm": "SHA256withRSA"}. The value may also be what
// `aws s3api head-object` prints ({"Metadata": {...}}); a key may be written s3://bucket/key.
func ReadSignatures(r io.Reader) (Signatures, error) {
	var raw map[string]struct {
		Signature
		Metadata *Signature `json:"Metadata"`
	}
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("read signatures JSON: %w", err)
	}
	out := make(Signatures, len(raw))
	for k, v := range raw {
		s := v.Signature
		if v.Metadata != nil && s.Signature == "" {
			s = *v.Metadata
		}
		if s.Signature == "" {
			return nil, fmt.Errorf("read signatures JSON: %q has no signature", k)
		}
		out[s3Key(k)] = s
	}
	return out, nil
}

// s3Key cuts a key, an s3:// URL or a local path at its last AWSLogs/ segment, so keys with
// an S3 prefix and local copies compare alike. A key without one is returned as it is.
func s3Key(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	if i := strings.LastIndex(p, "/AWSLogs/"); i >= 0 {
		return p[i+1:]
	}
	if strings.HasPrefix(p, "AWSLogs/") {
		return p
	}
	return p
}
