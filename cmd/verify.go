package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/integrity"
	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/report"
)

func init() {
	extraCommands = append(extraCommands, func(s Streams) *cobra.Command { return newVerifyCmd(s, nil) })
}

// verifyOptions are the flags of `vaultsentry verify`.
type verifyOptions struct {
	IO             Streams
	Path           string
	Format         string
	SignaturesPath string
	PublicKeyPaths []string

	opts integrity.Options // signatures and keys, read by validate
}

func newVerifyCmd(s Streams, runF func(context.Context, *verifyOptions) error) *cobra.Command {
	opts := &verifyOptions{IO: s}
	c := &cobra.Command{
		Use:   "verify [flags] DIR|s3://BUCKET/PREFIX",
		Short: "CloudTrail log file integrity, offline: hashes, the chain of digests, signatures",
		Long: "verify checks a local copy of a CloudTrail S3 export (the folder that holds AWSLogs/, AWSLogs/ itself, or a\n" +
			"folder below it) against its digest files, without the AWS CLI: the SHA-256 of every log file's decompressed\n" +
			"bytes against the digest that lists it, log files missing or listed by no digest, the chain of digests\n" +
			"(missing and moved digests, two or more deleted in a row included), and each digest's SHA256withRSA\n" +
			"signature. A digest's signature is kept in its S3 object metadata and recorded in the next digest; give\n" +
			"the metadata with --signatures (JSON: S3 key -> {\"signature\": hex, \"signature-algorithm\": \"SHA256withRSA\"})\n" +
			"and CloudTrail's public keys with --public-key (PEM, base64 DER, or `aws cloudtrail list-public-keys` JSON).\n" +
			"s3://BUCKET/PREFIX reads the tree in S3 directly (s3:ListBucket, s3:GetObject): the signatures come from the\n" +
			"digests' object metadata, and without --public-key the keys from CloudTrail's ListPublicKeys.\n\n" +
			"Exit 0: valid. Exit 1: invalid (a file changed, deleted, moved or added). Exit 3: unverifiable (no\n" +
			"signature or key for a digest, a file unreadable, no digests).",
		Example: "  vaultsentry verify --public-key cloudtrail-keys.json --signatures signatures.json ./export/\n" +
			"  vaultsentry verify --format json --public-key key.pem AWSLogs/\n" +
			"  vaultsentry verify s3://org-trail-bucket/AWSLogs/o-a1b2c3d4e5/111122223333/",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("name one folder, e.g. vaultsentry verify ./export/ (the folder that holds AWSLogs/)",
					"verify: give exactly one folder")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&opts.Format, "format", "f", "table", "output format: table, json")
	f.StringVar(&opts.SignaturesPath, "signatures", "", "JSON `FILE` of the digests' signatures (their S3 metadata) by S3 key")
	f.StringArrayVar(&opts.PublicKeyPaths, "public-key", nil, "CloudTrail public key `FILE` (PEM, base64 DER, list-public-keys JSON); repeatable")
	c.RunE = func(cc *cobra.Command, args []string) error {
		opts.Path = args[0]
		if err := opts.validate(); err != nil {
			return err
		}
		if runF == nil {
			runF = runVerify
		}
		return runF(cc.Context(), opts)
	}
	return c
}

func (o *verifyOptions) validate() error {
	if rest, ok := strings.CutPrefix(o.Path, "s3://"); ok && (rest == "" || rest[0] == '/') {
		return usagef("write s3://BUCKET/PREFIX, e.g. s3://org-trail-logs/AWSLogs/", "verify: %q names no bucket", o.Path)
	}
	if o.Format != "table" && o.Format != "json" {
		return usagef("pass --format table|json", "--format: unknown format %q for verify (want table or json)", o.Format)
	}
	var err error
	o.opts, err = integrityOptions(o.SignaturesPath, o.PublicKeyPaths)
	return err
}

// integrityOptions reads --signatures and --public-key (verify, review) into the checks'
// options; a file that cannot be read or parsed is a usage error.
func integrityOptions(signatures string, keys []string) (integrity.Options, error) {
	var opts integrity.Options
	if signatures != "" {
		fh, err := os.Open(signatures)
		if err != nil {
			return opts, usagef("give the JSON file of the digests' signatures", "--signatures: %v", err)
		}
		defer fh.Close()
		if opts.Signatures, err = integrity.ReadSignatures(fh); err != nil {
			return opts, usagef(`write it as {"AWSLogs/.../x_CloudTrail-Digest_....json.gz": {"signature": "hex", "signature-algorithm": "SHA256withRSA"}}`,
				"--signatures %s: %v", signatures, err)
		}
	}
	for _, p := range keys {
		data, err := os.ReadFile(p)
		if err != nil {
			return opts, usagef("give a file with CloudTrail's public key", "--public-key: %v", err)
		}
		ks, err := integrity.ParsePublicKeys(data)
		if err != nil {
			return opts, usagef("give PEM, the base64 DER value of ListPublicKeys, or the JSON of aws cloudtrail list-public-keys",
				"--public-key %s: %v", p, err)
		}
		opts.Keys = append(opts.Keys, ks...)
	}
	return opts, nil
}

// ErrInvalid is returned when the tree is invalid; Main exits 1 without a message (the report
// says which file and why).
var ErrInvalid = errors.New("cloudtrail log files invalid")

func runVerify(ctx context.Context, o *verifyOptions) error {
	var r *integrity.Result
	var err error
	if app.IsS3(o.Path) {
		r, err = app.VerifyCloudTrailS3(ctx, o.Path, o.opts)
		if err != nil {
			return err // a RuntimeError with its hint
		}
	} else if r, err = integrity.VerifyCloudTrail(ctx, o.Path, o.opts); err != nil {
		return runtimef("give the folder that holds AWSLogs/ (a copy of the trail's S3 bucket)", err)
	}
	if o.Format == "json" {
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		type cloudtrail struct {
			CloudTrail *integrity.Result `json:"cloudtrail"`
		}
		err = enc.Encode(struct {
			Integrity cloudtrail `json:"integrity"`
		}{cloudtrail{r}})
	} else {
		err = writeVerifyTable(o.IO, r)
	}
	if err != nil {
		return runtimef("", fmt.Errorf("write report: %w", err))
	}
	switch r.Status {
	case integrity.Invalid:
		return ErrInvalid
	case integrity.Unverifiable:
		return runtimef("pass --signatures and --public-key, and give the whole tree (log files and CloudTrail-Digest folders)",
			fmt.Errorf("cloudtrail integrity unverifiable: %s", r.Reason))
	}
	return nil
}

// writeVerifyTable writes the verdict, then one entry per problem: kind and file, the detail
// indented below (keys are too long for columns). File names are the tree's: sanitized.
func writeVerifyTable(s Streams, r *integrity.Result) error {
	w := &strings.Builder{}
	fmt.Fprintf(w, "CloudTrail log file integrity: %s\n", strings.ToUpper(string(r.Status)))
	fmt.Fprintf(w, "%d digests, %d log files", r.Digests, r.LogFiles)
	if r.NotYetCovered > 0 {
		fmt.Fprintf(w, " (%d not yet covered by a digest)", r.NotYetCovered)
	}
	fmt.Fprintln(w)
	if r.Reason != "" {
		fmt.Fprintf(w, "%s\n", r.Reason)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "\n%s  %s\n", p.Kind, report.Sanitize(p.File))
		writeWrapped(w, "    ", report.Sanitize(p.Detail))
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			writeWrapped(w, "  ", "note: "+report.Sanitize(n))
		}
	}
	_, err := fmt.Fprint(s.Out, w.String())
	return err
}
