package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// docCommand is one vaultsentry command of a fenced sh block in the documentation.
type docCommand struct {
	file string
	line int
	cmd  string // the command as a shell runs it, continuation lines joined
}

// docCommands lists every `vaultsentry ...` command in the sh blocks of the README, docs/ and
// deploy/README.md.
func docCommands(t *testing.T) []docCommand {
	t.Helper()
	files := []string{"README.md", "deploy/README.md"}
	more, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, more...)
	var out []docCommand
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inSh := false
		var cur strings.Builder
		start := 0
		for i, l := range strings.Split(string(data), "\n") {
			trimmed := strings.TrimSpace(l)
			if strings.HasPrefix(trimmed, "```") {
				inSh = !inSh && (trimmed == "```sh" || trimmed == "```bash" || trimmed == "```shell")
				continue
			}
			if !inSh {
				continue
			}
			if cur.Len() == 0 {
				if !strings.HasPrefix(trimmed, "vaultsentry ") {
					continue
				}
				start = i + 1
			}
			if c, ok := strings.CutSuffix(trimmed, "\\"); ok {
				cur.WriteString(c + " ")
				continue
			}
			cur.WriteString(trimmed)
			out = append(out, docCommand{file: f, line: start, cmd: cur.String()})
			cur.Reset()
		}
	}
	return out
}

// usageMistake is what the command line says about a flag or argument it does not take.
var usageMistake = regexp.MustCompile(`unknown (flag|shorthand flag|command)|flag needs an argument|invalid argument|accepts \d|bad flag syntax`)

// TestDocCommands runs every vaultsentry command of the README and the docs with the real binary,
// so a copy-paste never fails on a flag, a subcommand or an argument: none may exit 2 (a usage
// error). The commands run in a directory holding the files they name by relative path (an
// audit log, the example configuration), so most run through; paths on a server (/var/log/vault/)
// do not exist here and give exit 3, which is the run's failure, not the command's. AWS is a
// closed port on 127.0.0.1 and webhooks do not resolve, so nothing leaves the machine.
func TestDocCommands(t *testing.T) {
	cmds := docCommands(t)
	if len(cmds) < 20 {
		t.Fatalf("found %d documented commands; the extraction is broken", len(cmds))
	}
	wd, _ := os.Getwd()
	dir := t.TempDir()
	incident, err := os.ReadFile(filepath.Join(wd, "testdata/vault/incident.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(wd, "vaultsentry.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	inventory := []byte(`{"store":"vault","mount":"kv/","path":"prod/payments/db","created_time":null,"updated_time":null,"current_version":null,"custom_metadata":null}` + "\n")
	for name, data := range map[string][]byte{"audit.log": incident, "audit.log.1": incident, "vaultsentry.yaml": example, "inventory.jsonl": inventory, "aws-inventory.jsonl": inventory} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A signing key in the reader's ~/.ssh and the auditor's allowed signers, for the review's
	// sign-off commands.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "docs")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		".ssh/id_ed25519": pem.EncodeToMemory(block),
		"allowed_signers": []byte(`a.auditor@example.com namespaces="vaultsentry-review" ` + string(ssh.MarshalAuthorizedKey(sshPub))),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"testdata", "docs", "deploy"} {
		if err := os.Symlink(filepath.Join(wd, d), filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=AKIADOCTEST", "AWS_SECRET_ACCESS_KEY=doctest", "AWS_REGION=eu-west-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "COLUMNS=100", "VAULT_ADDR=http://127.0.0.1:1", "VAULT_TOKEN=doctest",
		"SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/doctest", "HOME="+dir) // what a reader sets before pasting
	for _, c := range cmds {
		t.Run(filepath.Base(c.file)+":"+strconv.Itoa(c.line), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			run := exec.CommandContext(ctx, "bash", "-c", c.cmd)
			run.Dir, run.Env = dir, env
			var stderr bytes.Buffer
			run.Stdout, run.Stderr = nil, &stderr
			err := run.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("%s: %v", c.cmd, err)
			}
			if ctx.Err() != nil {
				t.Fatalf("%s:%d: %s\ndid not finish in 90 s", c.file, c.line, c.cmd)
			}
			if code == 2 || usageMistake.Match(stderr.Bytes()) {
				t.Errorf("%s:%d: %s\nexit %d: a usage error in the documentation:\n%s", c.file, c.line, c.cmd, code, stderr.String())
			}
		})
	}
}
