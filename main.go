// Command vaultsentry is a forensic analyzer for secret access: it reads HashiCorp Vault /
// OpenBao audit logs and AWS CloudTrail records for Secrets Manager and reports the patterns
// of stolen credentials.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vaultsentry/vaultsentry/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Main(ctx, os.Args[1:], cmd.SystemStreams())
	stop()
	os.Exit(code)
}
