package analyze

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze/internal/window"
	"github.com/vaultsentry/vaultsentry/event"
)

// DualSourceIP reports one credential used from an internal and an external address within a
// window: a token or key copied out of the workload that owns it.
//
// Why: a credential normally lives where it was issued. Used from inside (the pod, the instance)
// and outside (the attacker's host) at about the same time, it has been exfiltrated; this is
// GuardDuty's InstanceCredentialExfiltration idea applied to Vault tokens as well.
//
// Thresholds: window 60 minutes (thresholds.dual-source-ip). Internal is the configured CIDR list
// (default RFC 1918, 100.64.0.0/10, loopback, link-local, fc00::/7), compared with net/netip.
//
// On AWS, EC2 instance credentials (an assumed-role session named after the instance id,
// i-...) used from a public address outside internal_cidrs fire even when the input shows no
// internal use, as GuardDuty's InstanceCredentialExfiltration does: the instance reaches AWS
// from inside its VPC, so such a key has left it. An address the role already used earlier (a
// NAT gateway's public address, say) is not reported. Calls an AWS service makes for the caller
// (invokedBy) and addresses that are "AWS Internal" or a service name never take part. A
// dual-stack client (an instance's IPv4 and IPv6 addresses) is internal on both sides when
// internal_cidrs lists the VPC's IPv6 block, as it should.
//
// Known false positives: a VPN or egress proxy not listed as internal; a load balancer in front
// of Vault without X-Forwarded-For (every request then has the balancer's address, which is
// internal, so this rule goes blind rather than noisy). Two internal addresses (a pod rollout)
// never fire. Instances that call AWS through a NAT gateway or their own public address the
// first time the input sees them: list those addresses in internal_cidrs.
type DualSourceIP struct {
	env   Env
	rule  Rule
	state map[string]*dualState
	found map[string]*Finding
	order []string
	// instance marks the credentials reported as instance credentials used outside AWS.
	instance map[string]string
	// idle: each credential's state until it has been quiet long enough to be forgotten
	// (window.SettleAfter; short-lived tokens come and go, and what a credential did more than a
	// window ago pairs with nothing), so that the state grows with the credentials in use, not
	// with every credential the input ever saw.
	idle window.Deadlines[string]
}

type dualState struct {
	window           time.Duration // the rule's window, or this identity's override
	lastInt, lastExt time.Time
	intAddr, extAddr netip.Addr
	intEvid, extEvid Evidence
}

// NewDualSourceIP builds the dual-source-ip detector.
func NewDualSourceIP(env Env) Detector {
	return &DualSourceIP{env: env, state: map[string]*dualState{}, found: map[string]*Finding{}, instance: map[string]string{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupCredential, ID: "dual-source-ip", Name: "Credential used from internal and external addresses", Severity: Critical,
		Summary: "the same credential is used from an internal and an external address within an hour",
		Help: "A token or access key used from its workload's internal address and from the internet within the window " +
			"(default 60 minutes, thresholds.dual-source-ip) has been copied. Internal networks come from internal_cidrs. " +
			"Known false positives: a VPN or NAT egress range missing from internal_cidrs.",
		Guide: "Revoke the credential at once (vault token revoke -accessor ..., or deactivate the access key), then trace " +
			"what the external address did (vaultsentry trace --ip ...) and rotate what it read.",
		MITRE: []string{"T1078", "T1552"},
	}}
}

// Rule describes dual-source-ip.
func (d *DualSourceIP) Rule() Rule { return d.rule }

// Observe tracks the last internal and external use of each credential.
func (d *DualSourceIP) Observe(ev *event.Event) {
	if ev.Credential == "" || !ev.RemoteAddr.IsValid() || ev.Has(event.FlagAWSInternal) || ev.Has(event.FlagServiceActor) {
		return
	}
	d.idle.Due(ev.Time, func(cred string) { delete(d.state, cred) })
	st := d.state[ev.Credential]
	if st == nil {
		c := d.env.Config
		st = &dualState{window: c.WindowFor(d.rule.ID, c.DualSourceIP.Window, ev.Actor(), ev.DisplayName)}
		d.state[ev.Credential] = st
	}
	w := st.window
	d.idle.Set(ev.Credential, window.SettleAfter(ev.Time, w))
	if d.env.Config.IsInternal(ev.RemoteAddr) {
		if !st.lastExt.IsZero() && ev.Time.Sub(st.lastExt) <= w {
			d.report(ev, st.extAddr, ev.RemoteAddr, st.extEvid, st.lastExt)
		}
		st.lastInt, st.intAddr, st.intEvid = ev.Time, ev.RemoteAddr, evidenceOf(ev)
		return
	}
	if !st.lastInt.IsZero() && ev.Time.Sub(st.lastInt) <= w {
		d.report(ev, ev.RemoteAddr, st.intAddr, st.intEvid, st.lastInt)
	} else if d.instanceOutside(ev) {
		d.report(ev, ev.RemoteAddr, netip.Addr{}, Evidence{}, time.Time{})
		d.instance[ev.Credential] = ev.DisplayName
	}
	st.lastExt, st.extAddr, st.extEvid = ev.Time, ev.RemoteAddr, evidenceOf(ev)
}

// instanceOutside reports EC2 instance credentials used from a public address the role has not
// used before.
func (d *DualSourceIP) instanceOutside(ev *event.Event) bool {
	if !ev.Has(event.FlagInstanceCredential) {
		return false
	}
	a := ev.RemoteAddr
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	if h := d.env.Baseline.Get(ev.Actor()); h != nil {
		if _, known := h.Addrs[a.String()]; known {
			return false
		}
	}
	return true
}

func (d *DualSourceIP) report(ev *event.Event, ext, internal netip.Addr, other Evidence, otherTime time.Time) {
	f := d.found[ev.Credential]
	if f == nil {
		nf := newFinding(d.rule, ev)
		if otherTime.Before(nf.FirstSeen) {
			nf.FirstSeen = otherTime
		}
		if other.File != "" {
			nf.addEvidence(other)
		}
		f = &nf
		d.found[ev.Credential] = f
		d.order = append(d.order, ev.Credential)
	}
	f.Count++
	f.LastSeen = ev.Time
	f.addEvidence(evidenceOf(ev))
	f.SourceIPs = appendAddr(appendAddr(f.SourceIPs, internal), ext)
	if ev.Resource != "" && len(f.Resources) < MaxResources && !contains(f.Resources, ev.Resource) {
		f.Resources = append(f.Resources, ev.Resource)
	}
}

// Finish returns one finding per credential.
func (d *DualSourceIP) Finish() []Finding {
	out := make([]Finding, 0, len(d.order))
	for _, k := range d.order {
		f := *d.found[k]
		f.Message = fmt.Sprintf("credential used from internal and external addresses (%s) within %s; %s between them",
			strings.Join(f.SourceIPs, ", "), Span(d.env.Config.DualSourceIP.Window), Count(f.Count, "switch", "switches"))
		if session, ok := d.instance[k]; ok {
			f.Message = fmt.Sprintf("EC2 instance credentials (session %s) used from outside the internal networks; addresses %s",
				session, strings.Join(f.SourceIPs, ", "))
		}
		f.Remediation = revokeHint(f)
		out = append(out, f)
	}
	return out
}

func appendAddr(list []string, a netip.Addr) []string {
	if !a.IsValid() {
		return list
	}
	s := a.String()
	if contains(list, s) || len(list) >= MaxResources {
		return list
	}
	return append(list, s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
