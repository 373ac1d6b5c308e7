package analyze

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// RotationWithoutRead reports a secret written (rotated) and then not picked up: no identity
// other than the writer reads it within the grace window, and no rollout of the deployment that
// consumes it follows.
//
// Why: a rotation that nobody picks up leaves the consumers on the old value, which was either
// revoked (an outage waiting to happen) or is still valid (the rotation did not remove what
// leaked). A write that no consumer follows is also what an attacker planting a value looks like.
//
// What is a write: a Vault create/update/patch of a KV v2 data/ path or of a KV v1 secret, or a
// rotate-role endpoint (database/rotate-role/x, whose consumers read database/static-creds/x);
// for other sources, any successful OpWrite on a secret (Resource). Writes by a service on a
// caller's behalf and failed writes do not count; rotate-root and transit key rotation are not
// writes here, since nobody reads what they rotate. Writes of one secret while an earlier write
// of it is still waiting are one rotation, whose window runs from the latest write.
//
// What is a read: a successful read of the same secret after the latest write, by an identity
// other than the writers. KV v2 data/x, data/x?version=n and the KV v1 path are one secret; a
// metadata/ read does not fetch the value and does not count. A rotation function that reads
// the secret and then writes it is part of the rotation, not a consumer.
//
// Propagation: with an events file (--k8s-events, rotation.k8s_events), a rollout within the
// grace window of the deployment that rotation.deployments maps the path to (exact namespace
// and name: card-gateway-canary is not card-gateway) counts as a read: a new replica set scaled
// up or a pod started, not a pod stopping. So does a rollout of a deployment whose annotations
// name the secret.
//
// Habit: a writer that wrote the same secret at least six times before, or two of whose
// earlier writes of it no read followed, is syncing it, not rotating it: External Secrets Operator updating a fixed set every hour whose
// pods mount the Secret as a volume (the kubelet refreshes it without a logged read) or read it
// on their own schedule. Those earlier writes were reported (or learned) when they happened. Every settled write, reported or not, is learned
// (baseline.History.Rotations), so the habit carries from one run to the next. A writer whose
// earlier rotation of the secret was picked up and this one is not is reported.
//
// Kubernetes: a create, update or patch of a Secret is a write (Helm's release secrets are
// the tool's upkeep and never count); a get by another identity (the consumer's pod at start,
// the kubelet of a new pod, which reads the Secrets its pods mount) is the read.
//
// Thresholds: grace 30 minutes (rotation.grace, thresholds.rotation-without-read.window). A write
// less than the grace window before the end of the input is not yet due and is not reported.
// Severity medium; low when no identity other than the writers read the secret anywhere in the
// input (an unused secret, or one consumed where the log does not show it), and the message says so.
//
// Known false positives: consumers that cache a secret for longer than the grace window and
// re-read it later (raise the window); consumers fed by a Kubernetes Secret without an events
// file or a deployment mapping.
type RotationWithoutRead struct {
	env      Env
	rule     Rule
	grace    time.Duration
	rollouts []Rollout
	pending  map[string]*rotWrite // read key -> the open write
	queue    []rotEntry           // writes in time order, so deadlines come in order too
	head     int
	readers  map[string][]string // read key -> up to maxRotReaders distinct successful readers
	kv2      map[string]bool     // mounts seen with KV v2 paths
	due      []*rotWrite
	end      time.Time
	habit    map[rotHabitKey][2]int // this run's settled writes: [0] picked up, [1] not
	relearn  map[rotHabitKey][2]int // of them, those an earlier run learned (Env.LearnedUntil)
}

type rotHabitKey struct{ writer, key string }

// learnedRotation is how one writer's settled writes of one secret ended, for the baseline
// (baseline.Baseline.LearnRotation).
type learnedRotation struct {
	writer, key      string
	picked, unpicked int
}

// rotHabitMin is how many earlier writes of a secret that nobody picked up make a writer's
// write a sync rather than a rotation.
const rotHabitMin = 2

// rotSyncMin is how many earlier writes of a secret, read or not, make a writer a sync of it:
// a person rotates a secret a few times a year, an operator syncs it every hour.
const rotSyncMin = 6

// maxRotReaders bounds the distinct readers remembered per secret: enough to know whether
// anybody but the writers read it.
const maxRotReaders = 4

// rotEntry is one write in the queue; it is stale when the secret was written again since.
type rotEntry struct {
	w    *rotWrite
	last time.Time
}

func (e rotEntry) stale(pending map[string]*rotWrite) bool {
	return pending[e.w.key] != e.w || !e.w.last.Equal(e.last)
}

type rotWrite struct {
	key     string // what a consumer's read resolves to (ev.Resource, or static-creds for rotate-role)
	path    string // the path the first write used
	paths   set    // as the writers wrote them, plus the normalised form
	writers set
	f       Finding
	last    time.Time // the latest write; the grace window runs from it
	selfRd  int       // reads by a writer inside the window
	readers []string  // others who read it since the latest write (up to maxRotReaders)
}

// NewRotationWithoutRead builds the rotation-without-read detector.
func NewRotationWithoutRead(env Env) Detector {
	rs := slices.Clone(env.Config.Rotation.Rollouts)
	slices.SortStableFunc(rs, func(a, b Rollout) int { return a.Time.Compare(b.Time) })
	g := env.Config.Rotation.Grace
	if g <= 0 {
		g = DefaultConfig().Rotation.Grace
	}
	return &RotationWithoutRead{env: env, grace: g, rollouts: rs, pending: map[string]*rotWrite{},
		readers: map[string][]string{}, kv2: map[string]bool{}, habit: map[rotHabitKey][2]int{}, relearn: map[rotHabitKey][2]int{}, rule: Rule{
			Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupIdentity, ID: "rotation-without-read", Name: "Secret rotated but not picked up", Severity: Medium,
			Summary: "a secret is written (rotated) and no other identity reads it, and no consuming deployment rolls out, within the grace window",
			Help: "A rotation nobody picks up leaves consumers on the old value. Fires when a KV write or rotate-role call is not followed within " +
				"rotation.grace (default 30m) by a successful read of the same secret by another identity, nor by a rollout of the deployment " +
				"rotation.deployments maps the path to (with --k8s-events). Writes less than the grace window before the end of the input are not yet due. " +
				"Low severity when nobody but the writer read the secret anywhere in the input. A writer that wrote the secret six times before, or twice " +
				"that no read followed (a sync operator), is a habit, not reported. Kubernetes: a create/update/patch of a " +
				"Secret, picked up by a get of another identity (the consumer, the kubelet of a restarted pod); Helm release secrets never count. " +
				"Known false positives: consumers caching longer than the window; consumers fed through Kubernetes Secrets without an events file or mapping.",
			Guide: "Check whether the consumers still use the old value (their last read, pod start times). Restart or redeploy them, or " +
				"map the path to its deployment in rotation.deployments. If nobody should have written the secret, find who did and why.",
			MITRE: []string{"T1552", "T1098"},
		}}
}

// Rule describes rotation-without-read.
func (d *RotationWithoutRead) Rule() Rule { return d.rule }

// Observe tracks writes until a read by another identity or their deadline.
func (d *RotationWithoutRead) Observe(ev *event.Event) {
	if ev.Time.After(d.end) {
		d.end = ev.Time
	}
	d.expire(ev.Time)
	if ev.Outcome != event.OutcomeOK || ev.Has(event.FlagServiceActor) || ev.Has(event.FlagUnauthenticated) ||
		ev.Has(event.FlagMaintenance) || ev.Has(event.FlagControl) {
		return
	}
	if mount, verb, _, ok := kvSplit(ev); ok && verb != "" {
		d.kv2[mount] = true
	}
	actor := ev.Actor()
	if actor == "" {
		return
	}
	if key, ok := d.readKey(ev); ok {
		d.read(ev, key, actor)
		return
	}
	if key, ok := d.writeKey(ev); ok {
		d.write(ev, key, actor)
	}
}

// writeKey returns the secret a write rotates, as consumers' reads name it.
func (d *RotationWithoutRead) writeKey(ev *event.Event) (string, bool) {
	if ev.Op != event.OpWrite || ev.Resource == "" {
		return "", false
	}
	if ev.Kind != event.KindVault {
		return ev.Resource, true
	}
	switch ev.Action {
	case "create", "update", "patch":
	default:
		return "", false
	}
	p := pathInNamespace(ev)
	if i := strings.Index(p, "/rotate-role/"); i > 0 {
		// database/rotate-role/x is read as database/static-creds/x (ldap: static-cred/x).
		return ev.Namespace + p[:i] + "/static-creds/" + p[i+len("/rotate-role/"):], true
	}
	mount, verb, rest, ok := kvSplit(ev)
	if !ok || rest == "" {
		return "", false
	}
	switch verb {
	case "data":
		return ev.Resource, true
	case "":
		// KV v1 needs the mount type: without it a write may be on any engine (transit, pki).
		if !isKVMount(ev) || (rest == "config" && d.kv2[mount]) {
			return "", false
		}
		return ev.Resource, true
	}
	return "", false
}

// readKey returns the secret a successful read fetches.
func (d *RotationWithoutRead) readKey(ev *event.Event) (string, bool) {
	if ev.Op != event.OpRead || ev.Resource == "" {
		return "", false
	}
	if ev.Kind != event.KindVault {
		return ev.Resource, true
	}
	if _, verb, _, ok := kvSplit(ev); ok && verb != "" && verb != "data" {
		return "", false // metadata/ and subkeys/ do not return the value
	}
	p := pathInNamespace(ev)
	if i := strings.Index(p, "/static-cred/"); i > 0 { // ldap's spelling
		return ev.Namespace + p[:i] + "/static-creds/" + p[i+len("/static-cred/"):], true
	}
	return ev.Resource, true
}

func (d *RotationWithoutRead) read(ev *event.Event, key, actor string) {
	rs := d.readers[key]
	if len(rs) < maxRotReaders && !slices.Contains(rs, actor) {
		d.readers[key] = append(rs, actor)
	}
	w := d.pending[key]
	if w == nil {
		return
	}
	if _, self := w.writers.m[actor]; self {
		w.selfRd++
		return
	}
	// Decided when the window ends: a reader who writes the secret later in the same rotation
	// (a rotation function that reads, then writes the new version) is not a consumer.
	if len(w.readers) < maxRotReaders && !slices.Contains(w.readers, actor) {
		w.readers = append(w.readers, actor)
	}
}

func (d *RotationWithoutRead) write(ev *event.Event, key, actor string) {
	w := d.pending[key]
	if w == nil {
		w = &rotWrite{key: key, path: ev.Path, f: newFinding(d.rule, ev)}
		d.pending[key] = w
	}
	// A second write while the first waits is the same rotation; the window runs from the
	// latest write, the earlier queue entry goes stale, and only reads after it count.
	w.writers.add(actor)
	w.readers = w.readers[:0]
	w.last = ev.Time
	d.queue = append(d.queue, rotEntry{w: w, last: ev.Time})
	w.f.Count++
	w.f.LastSeen = ev.Time
	w.f.addEvidence(evidenceOf(ev))
	w.f.SourceIPs = appendAddr(w.f.SourceIPs, ev.RemoteAddr)
	w.paths.add(ev.Path)
	w.paths.add(ev.Resource)
	w.paths.add(key)
}

// expire settles the writes whose grace window ended before now.
func (d *RotationWithoutRead) expire(now time.Time) {
	for d.head < len(d.queue) {
		e := d.queue[d.head]
		if e.stale(d.pending) {
			d.head++
			continue
		}
		if !now.After(e.last.Add(d.grace)) {
			break
		}
		d.head++
		d.settle(e.w)
	}
	if d.head > 1024 && d.head*2 > len(d.queue) { // compact: amortised O(1) per write
		d.queue = append(d.queue[:0], d.queue[d.head:]...)
		d.head = 0
	}
}

// settle decides a write whose grace window has passed: picked up (a consumer read it, a
// rollout propagated it), a writer's habit, or due. Each outcome is learned.
func (d *RotationWithoutRead) settle(w *rotWrite) {
	delete(d.pending, w.key)
	picked := false
	for _, r := range w.readers {
		if _, writer := w.writers.m[r]; !writer {
			picked = true // a consumer read it
			break
		}
	}
	if !picked {
		picked = d.rolledOut(w)
	}
	habitual := !picked && d.habitual(w)
	learned := !d.env.LearnedUntil.IsZero() && !w.last.After(d.env.LearnedUntil)
	for _, wr := range w.writers.list {
		k := rotHabitKey{wr, w.key}
		d.habit[k] = countRotation(d.habit[k], picked)
		if learned {
			d.relearn[k] = countRotation(d.relearn[k], picked)
		}
	}
	if !picked && !habitual {
		d.due = append(d.due, w)
	}
}

func countRotation(h [2]int, picked bool) [2]int {
	if picked {
		h[0]++
	} else {
		h[1]++
	}
	return h
}

// habitual reports whether every writer of w wrote the secret before at least rotHabitMin
// times that no read followed, or at least rotSyncMin times in all: a sync whose consumers
// read on their own schedule (or through a mounted volume), not a rotation. The earlier
// unread writes were reported when they happened.
func (d *RotationWithoutRead) habitual(w *rotWrite) bool {
	for _, wr := range w.writers.list {
		h := d.habit[rotHabitKey{wr, w.key}]
		if past := d.env.Baseline.Get(wr); past != nil {
			b := past.Rotations[w.key]
			h[0], h[1] = h[0]+b[0], h[1]+b[1]
		}
		if h[1] < rotHabitMin && h[0]+h[1] < rotSyncMin {
			return false
		}
	}
	return len(w.writers.list) > 0
}

// learnedRotations returns every settled write, for the baseline (Run learns them once the
// detector has finished).
func (d *RotationWithoutRead) learnedRotations() []learnedRotation {
	out := make([]learnedRotation, 0, len(d.habit))
	for k, h := range d.habit {
		old := d.relearn[k] // an earlier run learned these already
		picked, unpicked := h[0]-old[0], h[1]-old[1]
		if picked+unpicked > 0 {
			out = append(out, learnedRotation{k.writer, k.key, picked, unpicked})
		}
	}
	return out
}

// rolledOut looks for a rollout of a consuming deployment within the grace window.
func (d *RotationWithoutRead) rolledOut(w *rotWrite) bool {
	if len(d.rollouts) == 0 {
		return false
	}
	paths := w.paths.sorted(0)
	var deps []DeploymentMap
	for _, m := range d.env.Config.Rotation.Deployments {
		for _, p := range paths {
			if globMatch(m.Glob, p) {
				deps = append(deps, m)
				break
			}
		}
	}
	from := w.last.Truncate(time.Second) // Kubernetes event times have whole seconds
	to := w.last.Add(d.grace)
	i, _ := slices.BinarySearchFunc(d.rollouts, from, func(r Rollout, t time.Time) int { return r.Time.Compare(t) })
	for ; i < len(d.rollouts) && !d.rollouts[i].Time.After(to); i++ {
		r := &d.rollouts[i]
		if !propagates(r) {
			continue
		}
		for _, m := range deps {
			if r.Namespace == m.Namespace && r.Deployment == m.Deployment {
				return true
			}
		}
		for _, s := range r.Secrets {
			for _, p := range paths {
				if globMatch(s, p) {
					return true
				}
			}
		}
	}
	return false
}

// propagates reports whether a rollout event starts something that loads the new value: a
// stopping pod (Killing) does not; its replacement's Started does.
func propagates(r *Rollout) bool { return r.Reason != "Killing" }

// Finish settles the writes whose window ended inside the input; later ones are not yet due.
func (d *RotationWithoutRead) Finish() []Finding {
	for ; d.head < len(d.queue); d.head++ {
		e := d.queue[d.head]
		if e.stale(d.pending) {
			continue
		}
		if d.end.After(e.last.Add(d.grace)) {
			d.settle(e.w)
		}
		// else: not yet due; the input ends inside its grace window.
	}
	out := make([]Finding, 0, len(d.due))
	for _, w := range d.due {
		out = append(out, d.finding(w))
	}
	return out
}

func (d *RotationWithoutRead) finding(w *rotWrite) Finding {
	f := w.f
	f.Resources = w.paths.sorted(MaxResources)
	f.TriggerTime = w.last.Add(d.grace)
	writers := w.writers.sorted(0)
	others := false
	for _, r := range d.readers[w.key] {
		if !slices.Contains(writers, r) {
			others = true
		}
	}
	name := w.path
	if w.key != w.path {
		name += " (" + w.key + ")"
	}
	what := fmt.Sprintf("%s written by %s at %s", name, findingWho(f), f.FirstSeen.UTC().Format(time.RFC3339))
	if f.Count > 1 {
		what = fmt.Sprintf("%s written %d times by %s between %s and %s", name, f.Count, findingWho(f),
			f.FirstSeen.UTC().Format(time.RFC3339), w.last.UTC().Format(time.RFC3339))
	}
	msg := fmt.Sprintf("not picked up within %s: %s; no other identity read it", Span(d.grace), what)
	if w.selfRd > 0 {
		msg += fmt.Sprintf(" (the writer read it back %s)", Count(w.selfRd, "time", "times"))
	}
	if deps := d.mappedDeployments(w); len(deps) > 0 {
		if len(d.rollouts) == 0 {
			msg += fmt.Sprintf("; it is mapped to %s but no Kubernetes events were given (--k8s-events)", strings.Join(deps, ", "))
		} else {
			msg += fmt.Sprintf("; no rollout of %s followed", strings.Join(deps, ", "))
		}
	}
	if !others {
		f.Severity = Low
		msg += "; nobody but the writer read this secret anywhere in the input: it may be unused, or consumed where this log " +
			"does not show it (a mounted volume, a cache), which makes the rotation invisible here"
	}
	f.Message = msg
	f.Remediation = "restart or redeploy the consumers of " + w.key + " so they load the new value, or map the path to its " +
		"deployment (rotation.deployments) when a rollout propagates it"
	return f
}

func (d *RotationWithoutRead) mappedDeployments(w *rotWrite) []string {
	var out []string
	paths := w.paths.sorted(0)
	for _, m := range d.env.Config.Rotation.Deployments {
		for _, p := range paths {
			if globMatch(m.Glob, p) {
				if s := m.Namespace + "/" + m.Deployment; !slices.Contains(out, s) {
					out = append(out, s)
				}
				break
			}
		}
	}
	return out
}

func findingWho(f Finding) string {
	if f.DisplayName != "" {
		return f.DisplayName
	}
	return f.Identity
}
