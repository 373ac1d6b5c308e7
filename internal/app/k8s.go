package app

import (
	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/sources/k8sevents"
)

// loadRollouts reads Kubernetes events files (`kubectl get events -A -o json`, from --k8s-events
// and rotation.k8s_events) into the rollouts rotation-without-read counts as propagation. It is
// the one caller of the Kubernetes events reader.
func loadRollouts(files []string) ([]analyze.Rollout, error) {
	var out []analyze.Rollout
	for _, f := range files {
		rs, err := k8sevents.ReadK8sEvents(f)
		if err != nil {
			return nil, runtimef("check the file given to --k8s-events or rotation.k8s_events: it must be the output of kubectl get events -A -o json", err)
		}
		for _, r := range rs {
			out = append(out, analyze.Rollout{Time: r.Time, Namespace: r.Namespace, Deployment: r.Deployment,
				Reason: r.Reason, Secrets: r.Secrets})
		}
	}
	return out, nil
}
