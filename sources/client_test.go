package sources

import (
	"strings"
	"testing"
)

func TestInteractiveClient(t *testing.T) {
	for ua, want := range map[string]bool{
		"kubectl/v1.31.4 (linux/amd64) kubernetes/a1b2c3d":      true,
		"python-requests/2.31.0":                                true,
		"curl/8.5.0":                                            true,
		"Mozilla/5.0 (X11; Linux x86_64)":                       true,
		"aws-cli/2.17.51 ua/2.0 exec-env/CloudShell md/command": true,
		"hsm-gateway/v0.0.0 (linux/amd64) kubernetes/$Format":   false,
		"kubelet/v1.31.4 (linux/amd64) kubernetes/a1b2c3d":      false,
		"Helm/3.16.3":                         false,
		"aws-cli/2.17.51 ua/2.0 os/linux":     false, // scripts use the CLI as much as people do
		"aws-sdk-java/2.25.61 Linux/5.10.223": false,
		"Go-http-client/1.1":                  false,
		"curly/1.0":                           false,
		"":                                    false,
		strings.Repeat("x", 1<<20) + " exec-env/CloudShell": false, // past the bounded scan
	} {
		if got := InteractiveClient(ua); got != want {
			t.Errorf("InteractiveClient(%.60q) = %v, want %v", ua, got, want)
		}
	}
}
