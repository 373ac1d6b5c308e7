package s3fake

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// SignedTrail puts into bucket a CloudTrail tree with log file validation on: one account of an
// organisation in one region, hourly digests from start chaining to each other, each listing
// its log files with the SHA-256 of their decompressed bytes and signed SHA256withRSA with key
// as CloudTrail signs (digest end time, bucket/key, the digest's SHA-256, the previous
// signature), the signature in the digest object's metadata as CloudTrail stores it
// (x-amz-meta-signature, x-amz-meta-signature-algorithm). It returns the digest and log keys.
func (s *Server) SignedTrail(bucket string, key *rsa.PrivateKey, start time.Time, hours, logsPerHour int) (digests, logs []string, err error) {
	const prefix, acct, region = "AWSLogs/o-abc123def4/444455556666", "444455556666", "eu-west-1"
	var prevKey, prevHash, prevSig *string
	for h := range hours {
		begin, end := start.Add(time.Duration(h)*time.Hour), start.Add(time.Duration(h+1)*time.Hour)
		var files []map[string]any
		for i := range logsPerHour {
			at := begin.Add(time.Duration(5+i*50/logsPerHour) * time.Minute)
			k := fmt.Sprintf("%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_h%02di%02d.json.gz", prefix, region, at.Format("2006/01/02"), acct, region, at.Format("20060102T1504Z"), h, i)
			body := []byte(fmt.Sprintf(`{"Records":[{"eventVersion":"1.09","eventTime":"%s","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue","awsRegion":"%s","sourceIPAddress":"10.0.0.%d","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::%s:assumed-role/app/x"},"requestParameters":{"secretId":"prod/db/%d"},"eventID":"%08x-%04x"}]}`,
				at.Format(time.RFC3339), region, i, acct, i, h, i))
			s.Put(bucket, k, &Object{Body: gzBytes(body)})
			hs := sha256.Sum256(body)
			files = append(files, map[string]any{"s3Bucket": bucket, "s3Object": k, "hashValue": hex.EncodeToString(hs[:]), "hashAlgorithm": "SHA-256",
				"newestEventTime": at.Format(time.RFC3339), "oldestEventTime": at.Format(time.RFC3339)})
			logs = append(logs, k)
		}
		dk := fmt.Sprintf("%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_org-trail_%s_%s.json.gz", prefix, region, end.Format("2006/01/02"), acct, region, region, end.Format("20060102T150405Z"))
		d := map[string]any{"awsAccountId": acct, "digestStartTime": begin.Format(time.RFC3339), "digestEndTime": end.Format(time.RFC3339),
			"digestS3Bucket": bucket, "digestS3Object": dk, "digestPublicKeyFingerprint": fingerprint(&key.PublicKey),
			"digestSignatureAlgorithm": "SHA256withRSA", "previousDigestS3Bucket": nil, "previousDigestS3Object": prevKey,
			"previousDigestHashValue": prevHash, "previousDigestHashAlgorithm": nil, "previousDigestSignature": prevSig, "logFiles": files}
		if prevKey != nil {
			d["previousDigestS3Bucket"], d["previousDigestHashAlgorithm"] = bucket, "SHA-256"
		}
		body, _ := json.Marshal(d)
		ds := sha256.Sum256(body)
		prev := "null"
		if prevSig != nil {
			prev = *prevSig
		}
		msg := sha256.Sum256([]byte(end.Format(time.RFC3339) + "\n" + bucket + "/" + dk + "\n" + hex.EncodeToString(ds[:]) + "\n" + prev))
		raw, serr := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, msg[:])
		if serr != nil {
			return nil, nil, serr
		}
		sig := hex.EncodeToString(raw)
		s.Put(bucket, dk, &Object{Body: gzBytes(body), Meta: map[string]string{"signature": sig, "signature-algorithm": "SHA256withRSA"}})
		digests = append(digests, dk)
		hsx := hex.EncodeToString(ds[:])
		prevKey, prevHash, prevSig = &dk, &hsx, &sig
	}
	return digests, logs, nil
}

func fingerprint(k *rsa.PublicKey) string {
	// CloudTrail names a key by the MD5 of its PKCS#1 DER (an identifier, not a check).
	sum := md5.Sum(x509.MarshalPKCS1PublicKey(k))
	return hex.EncodeToString(sum[:])
}

func gzBytes(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// SetPublicKeys makes the server answer CloudTrail's ListPublicKeys (awsJson1_1, POST with X-Amz-Target
// CloudTrail_20131101.ListPublicKeys, per the CloudTrail API Reference) on the same server, so
// AWS_ENDPOINT_URL_CLOUDTRAIL may point here: each key's DER (PKCS#1, as CloudTrail returns it).
func (s *Server) SetPublicKeys(keys ...*rsa.PublicKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pubKeys = keys
}

func (s *Server) listPublicKeys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	keys := s.pubKeys
	s.mu.Unlock()
	s.KeyLists.Add(1)
	type entry struct {
		Value             []byte
		ValidityStartTime float64
		ValidityEndTime   float64
		Fingerprint       string
	}
	var out struct{ PublicKeyList []entry }
	for _, k := range keys {
		out.PublicKeyList = append(out.PublicKeyList, entry{Value: x509.MarshalPKCS1PublicKey(k),
			ValidityStartTime: float64(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()), ValidityEndTime: float64(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Unix()),
			Fingerprint: fingerprint(k)})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func isListPublicKeys(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.Header.Get("X-Amz-Target"), "ListPublicKeys")
}
