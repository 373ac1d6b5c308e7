// Command vaultsentry is a forensic analyzer for secret access: it reads HashiCorp Vault /
// OpenBao audit logs and AWS CloudTrail records for Secrets Manager and reports the patterns
// of stolen credentials.
package main

import (
	"context"
	"os"

	"github.com/vaultsentry/vaultsentry/cmd"
)

func main() {
	ctx, stop := cmd.NotifyContext(context.Background())
	code := cmd.Main(ctx, os.Args[1:], cmd.SystemStreams())
	stop()
	os.Exit(code)
}
