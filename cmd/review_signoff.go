package cmd

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/signing"
)

// SignPassphraseEnv names the environment variable that holds the passphrase of a protected
// --sign-key (a flag would leave it in the shell history and the process list).
const SignPassphraseEnv = "VAULTSENTRY_SIGN_PASSPHRASE"

// signoffOptions are review's sign-off and verification flags.
type signoffOptions struct {
	SignKey        string
	Reviewer       string
	ReviewerRole   string
	Decision       string
	Verify         bool
	AllowedSigners string

	signoff app.ReviewSignoff
	trusted []signing.Signer
}

func addSignoffFlags(f *pflag.FlagSet, o *signoffOptions) {
	f.StringVar(&o.SignKey, "sign-key", "", "sign the manifest written next to the report with this OpenSSH private key `FILE` (ed25519, RSA, ECDSA; passphrase in $"+SignPassphraseEnv+")")
	f.StringVar(&o.Reviewer, "reviewer", "", "the reviewer's `NAME` for the manifest's sign-off (its date is the day of the run)")
	f.StringVar(&o.ReviewerRole, "reviewer-role", "", "the reviewer's `ROLE` for the sign-off")
	f.StringVar(&o.Decision, "decision", "", "the reviewer's decision: "+strings.Join(report.ReviewerDecisions, ", ")+" (default: left to fill in)")
	f.BoolVar(&o.Verify, "verify", false, "check the REPORT given as argument against its manifest (hashes, and the signature with --allowed-signers) instead of reviewing: exit 0 valid, 1 invalid, 3 unverifiable")
	f.StringVar(&o.AllowedSigners, "allowed-signers", "", "with --verify: ssh-keygen's allowed signers `FILE`, or the signer's public key (.pub)")
}

// validate checks the sign-off flags; in --verify mode, also that one REPORT is given and no
// review flag that would be ignored.
func (o *signoffOptions) validate(paths []string) error {
	if o.Verify {
		if len(paths) != 1 {
			return usagef("give one report: vaultsentry review --verify review.html --allowed-signers allowed_signers", "review --verify takes one REPORT, got %d arguments", len(paths))
		}
		if o.SignKey != "" {
			return usagef("sign when writing the review; --verify checks a written one", "--sign-key and --verify exclude each other")
		}
	} else if o.AllowedSigners != "" {
		return usagef("pass --verify REPORT to check a signed review", "--allowed-signers is for --verify")
	}
	if o.AllowedSigners != "" {
		data, err := os.ReadFile(o.AllowedSigners)
		if err != nil {
			return usagef("give ssh-keygen's allowed signers file or the signer's .pub key", "--allowed-signers: %v", err)
		}
		if o.trusted, err = signing.ParseAllowedSigners(data); err != nil {
			return usagef("one signer per line: \"auditor@example.com ssh-ed25519 AAAA...\" (ssh-keygen(1), ALLOWED SIGNERS)", "--allowed-signers %s: %v", o.AllowedSigners, err)
		}
	}
	if o.Decision != "" && !slices.Contains(report.ReviewerDecisions, o.Decision) {
		return usagef("pass --decision "+strings.Join(report.ReviewerDecisions, "|"), "unknown --decision %q", o.Decision)
	}
	o.signoff.Reviewer = report.Reviewer{Name: o.Reviewer, Role: o.ReviewerRole, Decision: o.Decision}
	if o.SignKey == "" {
		return nil
	}
	data, err := os.ReadFile(o.SignKey)
	if err != nil {
		return usagef("give the private key file (e.g. ~/.ssh/id_ed25519)", "--sign-key: %v", err)
	}
	s, err := signing.ParsePrivateKey(data, []byte(os.Getenv(SignPassphraseEnv)))
	if errors.Is(err, signing.ErrPassphrase) {
		return usagef("set "+SignPassphraseEnv+" to its passphrase, or use a key without one", "--sign-key %s: the key is protected by a passphrase", o.SignKey)
	}
	if err != nil {
		return usagef("give an OpenSSH private key (ed25519, RSA or ECDSA), not the .pub file", "--sign-key %s: %v", o.SignKey, err)
	}
	o.signoff.Signer = s
	return nil
}

// runReviewVerify is review --verify REPORT: one line for the verdict, one per check.
func runReviewVerify(o *reviewOptions) error {
	v, err := app.VerifyReview(app.ReviewVerifyRequest{Report: o.Paths[0], Trusted: o.Signoff.trusted})
	if err != nil {
		return runtimef("check the path of the report", fmt.Errorf("review --verify: %w", err))
	}
	w := &strings.Builder{}
	fmt.Fprintf(w, "review manifest %s: %s\n", report.Sanitize(v.Manifest), strings.ToUpper(v.Status))
	for _, c := range v.Checks {
		mark := "ok "
		if !c.OK {
			mark = "BAD"
		}
		fmt.Fprintf(w, "  %s %-9s %s: %s: %s\n", mark, c.What, report.Sanitize(c.File), c.Status, report.Sanitize(c.Detail))
	}
	if _, err := fmt.Fprint(o.IO.Out, w.String()); err != nil {
		return runtimef("", fmt.Errorf("write: %w", err))
	}
	switch v.Status {
	case app.ManifestInvalid:
		fmt.Fprintf(o.IO.Err, "review --verify: invalid: %s\n", report.Sanitize(v.Reason))
		return ErrInvalid
	case app.ManifestUnverifiable:
		return runtimef("sign the review with --sign-key and pass --allowed-signers FILE (or the signer's .pub key)",
			fmt.Errorf("review --verify: unverifiable: %s", report.Sanitize(v.Reason)))
	}
	return nil
}
