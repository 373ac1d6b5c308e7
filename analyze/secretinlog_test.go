package analyze

import (
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// TestSecretInAuditLog: requests whose log line holds a value make one finding per file, named
// by the file and its secrets, even inside the learning period; the same requests at the
// Metadata level (no FlagValueLogged) make none.
func TestSecretInAuditLog(t *testing.T) {
	logged := func(at time.Duration, file, secret string) event.Event {
		return kev(at, "system:serviceaccount:card-gateway:gateway-api", secret, withFlags(event.FlagValueLogged),
			func(e *event.Event) { e.Pos = event.Pos{File: file, Line: int(at / time.Second)} })
	}
	list := klist(3*time.Minute, "oidc:aoife@example.io", "cards-batch", withFlags(event.FlagValueLogged), func(e *event.Event) {
		e.Pos, e.Detail = event.Pos{File: "kcp-2/audit.log", Line: 9}, "the logged response holds the data of cards-batch/pdf-signing"
	})
	evs := seqOf(logged(0, "kcp-2/audit.log", "card-gateway/psp-webhook-signing"), logged(time.Minute, "kcp-2/audit.log", "issuing/issuing-db"),
		list, logged(2*time.Minute, "kcp-3/audit.log", "issuing/issuing-db"), kev(48*time.Hour, "system:node:kw-1", "x/y"))
	cfg := DefaultConfig()
	cfg.LearnUntil = t0.Add(24 * time.Hour) // the lines are in the learning period; the file still holds them
	res := Run(evs, Env{Config: &cfg, onlyRules: []string{"secret-in-audit-log"}})
	if len(res.Findings) != 2 {
		t.Fatalf("want one finding per file: %s", describe(res.Findings))
	}
	f := res.Findings[0]
	if f.Identity != "kcp-2/audit.log" || f.Count != 3 || f.Severity != High || f.Resources[0] != "kcp-2/audit.log" ||
		!strings.Contains(f.Message, "card-gateway/psp-webhook-signing, issuing/issuing-db") || !strings.Contains(f.Message, "cards-batch/pdf-signing") {
		t.Errorf("finding %+v", f)
	}
	quiet := seqOf(kev(0, "system:serviceaccount:card-gateway:gateway-api", "card-gateway/psp-webhook-signing"))
	if fs := runDetector(t, NewSecretInAuditLog, DefaultConfig(), quiet); len(fs) != 0 {
		t.Errorf("a Metadata-level log: %s", describe(fs))
	}
}
