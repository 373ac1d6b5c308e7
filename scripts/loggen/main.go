// Command loggen writes a realistic, deterministic Vault file-audit log (NDJSON) of a given size
// for scripts/bench.sh: see package internal/loggen for what the log holds.
//
// Usage:
//
//	go run ./scripts/loggen -size 1G -o /tmp/audit.log
//	go run ./scripts/loggen -size 4G -hot-share 0.5 -o hot.log         # half the requests from one token
//	go run ./scripts/loggen -size 4G -unique-share 0.9 -o wide.log     # over a million distinct paths
//	go run ./scripts/loggen -size 4G -compact -hot-share 1 -o one.log  # 10 million events of one token
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/loggen"
)

func main() {
	var (
		out         = flag.String("o", "-", "output `FILE` (- for standard output)")
		sizeArg     = flag.String("size", "64M", "approximate output size (K, M, G suffixes, powers of 1024)")
		seed        = flag.Uint64("seed", 7, "random seed")
		nIdent      = flag.Int("identities", 3000, "number of identities")
		nPaths      = flag.Int("paths", 30000, "number of secret paths")
		rate        = flag.Float64("rate", 40, "mean requests per second of log time")
		start       = flag.String("start", "2026-09-21T06:00:00Z", "log time of the first entry (RFC 3339)")
		hotShare    = flag.Float64("hot-share", 0, "fraction of requests made by one token (linearity check)")
		uniqueShare = flag.Float64("unique-share", 0, "fraction of requests that read a never-repeated path (one backup token)")
		compact     = flag.Bool("compact", false, "request entries only, with the fewest fields (the most events per byte)")
		noIncidents = flag.Bool("no-incidents", false, "do not plant incidents")
	)
	flag.Parse()
	size, err := loggen.ParseSize(*sizeArg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(2)
	}
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen: -start:", err)
		os.Exit(2)
	}
	w := os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loggen:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	st, err := loggen.Write(w, size, loggen.Options{Seed: *seed, Identities: *nIdent, Paths: *nPaths, Rate: *rate, Start: t0,
		HotShare: *hotShare, UniqueShare: *uniqueShare, Compact: *compact, NoIncidents: *noIncidents})
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "loggen: %d bytes, %d lines, %d requests, %d identities, %d distinct paths, %.1f%% of bytes in large bodies, log time %s .. %s\n",
		st.Bytes, st.Lines, st.Requests, st.Identities, st.PathsUsed, 100*float64(st.BigBytes)/float64(max(st.Bytes, 1)),
		st.First.Format(time.RFC3339), st.Last.Format(time.RFC3339))
	for _, s := range st.Planted {
		fmt.Fprintln(os.Stderr, "loggen: planted", s)
	}
}
