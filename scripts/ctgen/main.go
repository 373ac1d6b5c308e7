// Command ctgen writes a realistic, deterministic CloudTrail S3 export tree of a given size for
// scripts/bench.sh --cloudtrail: see package internal/ctgen for what the tree holds.
//
// Usage:
//
//	go run ./scripts/ctgen -size 1G -o /tmp/ct     # /tmp/ct/AWSLogs/o-.../<account>/CloudTrail/...
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/ctgen"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
)

func main() {
	var (
		out       = flag.String("o", "", "output `DIR` (gets an AWSLogs directory)")
		sizeArg   = flag.String("size", "64M", "approximate decompressed size of the log files (K, M, G suffixes, powers of 1024)")
		seed      = flag.Uint64("seed", 11, "random seed")
		accounts  = flag.Int("accounts", 2, "number of accounts")
		regions   = flag.String("regions", "eu-west-1,eu-central-1,us-east-1", "comma-separated regions")
		workloads = flag.Int("workloads", 80, "workload roles per account and region")
		secrets   = flag.Int("secrets", 1200, "secrets per account and region")
		rate      = flag.Float64("rate", 1.1, "mean records a second per account and region (about 330 a five-minute file)")
		start     = flag.String("start", "2026-09-21T00:00:00Z", "log time of the first record (RFC 3339)")
		noInc     = flag.Bool("no-incidents", false, "do not plant the incident")
	)
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "ctgen: -o DIR is required")
		os.Exit(2)
	}
	size, err := loggen.ParseSize(*sizeArg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctgen:", err)
		os.Exit(2)
	}
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctgen: -start:", err)
		os.Exit(2)
	}
	st, err := ctgen.Write(*out, size, ctgen.Options{Seed: *seed, Accounts: *accounts, Regions: strings.Split(*regions, ","),
		Workloads: *workloads, Secrets: *secrets, Rate: *rate, Start: t0, NoIncidents: *noInc})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctgen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "ctgen: %d log files (%d bytes, %d compressed, %.0f records a file), %d digests, %d records (%d delivered twice), log time %s .. %s\n",
		st.Files, st.Bytes, st.Compressed, float64(st.Records)/float64(max(st.Files, 1)), st.Digests, st.Records, st.Duplicates,
		st.First.Format(time.RFC3339), st.Last.Format(time.RFC3339))
	for _, s := range st.Planted {
		fmt.Fprintln(os.Stderr, "ctgen: planted", s)
	}
}
