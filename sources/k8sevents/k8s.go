package k8sevents

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// K8sRollout is a Kubernetes event that shows a deployment picking up new configuration: a new
// replica set scaled up, or a pod of the deployment started or stopped.
type K8sRollout struct {
	Time       time.Time
	Namespace  string
	Deployment string
	// Reason is the event's reason: ScalingReplicaSet (a scale-up), Started or Killing.
	Reason string
	// Secrets are the secret paths the deployment's annotations name, when the input holds them
	// (vaultsentry.io/secrets: "a, b"; vault.hashicorp.com/agent-inject-secret-<file>: path).
	Secrets []string
	Pos     event.Pos
}

// k8sObject mirrors what we need of an item in `kubectl get events -A -o json` output: a core
// v1 Event, an events.k8s.io/v1 Event, or (when the file also lists them) a Deployment,
// ReplicaSet or Pod, whose owner references and annotations tie pods to deployments.
type k8sObject struct {
	Kind     string      `json:"kind"`
	Metadata k8sMetadata `json:"metadata"`
	// core/v1 Event
	InvolvedObject *k8sRef `json:"involvedObject"`
	Reason         string  `json:"reason"`
	Message        string  `json:"message"`
	FirstTimestamp string  `json:"firstTimestamp"`
	LastTimestamp  string  `json:"lastTimestamp"`
	EventTime      string  `json:"eventTime"`
	Count          int     `json:"count"`
	Series         *struct {
		LastObservedTime string `json:"lastObservedTime"`
	} `json:"series"`
	// events.k8s.io/v1 Event
	Regarding                *k8sRef `json:"regarding"`
	Note                     string  `json:"note"`
	DeprecatedFirstTimestamp string  `json:"deprecatedFirstTimestamp"`
	DeprecatedLastTimestamp  string  `json:"deprecatedLastTimestamp"`
	// Deployment
	Spec *struct {
		Template *struct {
			Metadata k8sMetadata `json:"metadata"`
		} `json:"template"`
	} `json:"spec"`
	// List
	Items []json.RawMessage `json:"items"`
}

type k8sMetadata struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	CreationTimestamp string            `json:"creationTimestamp"`
	Annotations       map[string]string `json:"annotations"`
	OwnerReferences   []k8sRef          `json:"ownerReferences"`
}

type k8sRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// ReadK8sEvents reads one file (gzip or not) of `kubectl get events -A -o json` output.
func ReadK8sEvents(name string) ([]K8sRollout, error) {
	r, closeFile, err := sources.OpenFile(name)
	if err != nil {
		return nil, fmt.Errorf("read kubernetes events: %w", err)
	}
	defer closeFile()
	return DecodeK8sEvents(r, name)
}

// DecodeK8sEvents turns Kubernetes events into rollouts. The input is a List (what kubectl
// -o json prints), a single Event, or a stream of them (kubectl get events -w -o json).
//
// A pod is tied to its deployment by the events themselves where they say it (the deployment's
// "Scaled up replica set X", the replica set's "Created pod: Y"), by owner references when the
// file lists the objects, and otherwise by the naming scheme: <deployment>-<pod-template-hash>-
// <suffix>, where hash and suffix use Kubernetes' safe alphabet. Job, CronJob, StatefulSet and
// DaemonSet pods match none of these and are ignored.
func DecodeK8sEvents(r io.Reader, name string) ([]K8sRollout, error) {
	var objs []k8sObject
	dec := json.NewDecoder(r)
	for n := 1; ; n++ {
		var o k8sObject
		if err := dec.Decode(&o); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("decode kubernetes events %s (object %d): %w", name, n, err)
		}
		if o.Kind == "List" || strings.HasSuffix(o.Kind, "List") || (o.Kind == "" && o.Items != nil) {
			for i, raw := range o.Items {
				var it k8sObject
				if err := json.Unmarshal(raw, &it); err != nil {
					return nil, fmt.Errorf("decode kubernetes events %s (item %d): %w", name, i, err)
				}
				objs = append(objs, it)
			}
			continue
		}
		objs = append(objs, o)
	}
	return k8sRollouts(objs, name), nil
}

// k8sIndex ties replica sets and pods to deployments.
type k8sIndex struct {
	rsDep   map[string]string   // ns/replicaset -> deployment
	podRS   map[string]string   // ns/pod -> replicaset
	secrets map[string][]string // ns/deployment -> annotated secret paths
}

func k8sRollouts(objs []k8sObject, name string) []K8sRollout {
	ix := k8sIndex{rsDep: map[string]string{}, podRS: map[string]string{}, secrets: map[string][]string{}}
	for i := range objs {
		ix.learn(&objs[i])
	}
	var out []K8sRollout
	for i := range objs {
		o := &objs[i]
		ref, reason := o.InvolvedObject, o.Reason
		if ref == nil {
			ref = o.Regarding
		}
		if ref == nil || !isK8sEvent(o) {
			continue
		}
		ns := ref.Namespace
		if ns == "" {
			ns = o.Metadata.Namespace
		}
		dep := ""
		switch {
		case reason == "ScalingReplicaSet" && ref.Kind == "Deployment":
			if !strings.HasPrefix(o.message(), "Scaled up") {
				continue // the old replica set shrinking starts nothing
			}
			dep = ref.Name
		case (reason == "Started" || reason == "Killing") && ref.Kind == "Pod":
			dep = ix.deploymentOfPod(ns, ref.Name)
		}
		if dep == "" {
			continue
		}
		for _, t := range o.times() {
			out = append(out, K8sRollout{Time: t, Namespace: ns, Deployment: dep, Reason: reason,
				Secrets: ix.secrets[ns+"/"+dep], Pos: event.Pos{File: name, Line: i + 1}})
		}
	}
	slices.SortStableFunc(out, func(a, b K8sRollout) int { return a.Time.Compare(b.Time) })
	return out
}

func isK8sEvent(o *k8sObject) bool {
	return o.Kind == "Event" || o.Kind == "" || o.InvolvedObject != nil || o.Regarding != nil
}

func (o *k8sObject) message() string {
	if o.Message != "" {
		return o.Message
	}
	return o.Note
}

// times are the occurrences an event records: its last one, and its first when it repeated.
func (o *k8sObject) times() []time.Time {
	parse := func(ss ...string) time.Time {
		for _, s := range ss {
			if s == "" || s == "null" {
				continue
			}
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t.UTC()
			}
		}
		return time.Time{}
	}
	series := ""
	if o.Series != nil {
		series = o.Series.LastObservedTime
	}
	last := parse(o.LastTimestamp, series, o.DeprecatedLastTimestamp, o.EventTime, o.FirstTimestamp,
		o.DeprecatedFirstTimestamp, o.Metadata.CreationTimestamp)
	if last.IsZero() {
		return nil
	}
	first := parse(o.FirstTimestamp, o.DeprecatedFirstTimestamp)
	if !first.IsZero() && first.Before(last) {
		return []time.Time{first, last}
	}
	return []time.Time{last}
}

// learn records what one object says about replica sets, pods and annotations.
func (ix *k8sIndex) learn(o *k8sObject) {
	ns := o.Metadata.Namespace
	switch o.Kind {
	case "Deployment":
		ix.annotate(ns, o.Metadata.Name, o.Metadata.Annotations)
		if o.Spec != nil && o.Spec.Template != nil {
			ix.annotate(ns, o.Metadata.Name, o.Spec.Template.Metadata.Annotations)
		}
		return
	case "ReplicaSet":
		for _, ow := range o.Metadata.OwnerReferences {
			if ow.Kind == "Deployment" {
				ix.rsDep[ns+"/"+o.Metadata.Name] = ow.Name
			}
		}
		return
	case "Pod":
		for _, ow := range o.Metadata.OwnerReferences {
			if ow.Kind == "ReplicaSet" {
				ix.podRS[ns+"/"+o.Metadata.Name] = ow.Name
			}
		}
		return
	}
	ref := o.InvolvedObject
	if ref == nil {
		ref = o.Regarding
	}
	if ref == nil {
		return
	}
	if ref.Namespace != "" {
		ns = ref.Namespace
	}
	msg := o.message()
	switch {
	case ref.Kind == "Deployment" && o.Reason == "ScalingReplicaSet":
		// "Scaled up replica set card-gateway-zmz9qfsd97 to 2 from 1", "Scaled down replica set ..."
		if _, rest, ok := strings.Cut(msg, "replica set "); ok {
			if rs, _, _ := strings.Cut(rest, " "); rs != "" {
				ix.rsDep[ns+"/"+rs] = ref.Name
			}
		}
		if ref.Kind == "Deployment" {
			ix.annotate(ns, ref.Name, o.Metadata.Annotations)
		}
	case ref.Kind == "ReplicaSet" && (o.Reason == "SuccessfulCreate" || o.Reason == "SuccessfulDelete"):
		// "Created pod: card-gateway-zmz9qfsd97-6dlxz", "Deleted pod: ..."
		if _, pod, ok := strings.Cut(msg, "pod: "); ok {
			if pod = strings.TrimSpace(pod); pod != "" {
				ix.podRS[ns+"/"+pod] = ref.Name
			}
		}
	}
}

// annotate records the secret paths a deployment's annotations name.
func (ix *k8sIndex) annotate(ns, dep string, ann map[string]string) {
	key := ns + "/" + dep
	for k, v := range ann {
		var paths []string
		switch {
		case k == "vaultsentry.io/secrets":
			for _, p := range strings.Split(v, ",") {
				paths = append(paths, strings.TrimSpace(p))
			}
		case strings.HasPrefix(k, "vault.hashicorp.com/agent-inject-secret-"):
			paths = append(paths, strings.TrimSpace(v))
		}
		for _, p := range paths {
			if p != "" && !slices.Contains(ix.secrets[key], p) {
				ix.secrets[key] = append(ix.secrets[key], p)
			}
		}
	}
}

// deploymentOfPod finds the deployment a pod belongs to, or "".
func (ix *k8sIndex) deploymentOfPod(ns, pod string) string {
	rs, ok := ix.podRS[ns+"/"+pod]
	if !ok {
		// <replicaset>-<5 character suffix>
		i := strings.LastIndexByte(pod, '-')
		if i <= 0 || !k8sSafe(pod[i+1:], 5, 5) {
			return ""
		}
		rs = pod[:i]
	}
	if dep, ok := ix.rsDep[ns+"/"+rs]; ok {
		return dep
	}
	// <deployment>-<pod-template-hash>
	i := strings.LastIndexByte(rs, '-')
	if i <= 0 || !k8sSafe(rs[i+1:], 6, 10) {
		return ""
	}
	return rs[:i]
}

// k8sSafe reports whether s is a string Kubernetes generates: its safe alphabet (no vowels,
// no 0, 1, 3), with a length in [lo, hi].
func k8sSafe(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("bcdfghjklmnpqrstvwxz2456789", rune(s[i])) {
			return false
		}
	}
	return true
}
