package cloudtrail

import (
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// SourceSSM is the event source of Systems Manager, whose Parameter Store calls become events
// (its other APIs, Run Command, sessions, inventory, stay OpOther).
const SourceSSM = "ssm.amazonaws.com"

// ssmResourcePrefix keeps parameters apart from Secrets Manager secrets of the same name.
const ssmResourcePrefix = "ssm:"

// ssmEvents classifies a Parameter Store call and appends its events to dst: one per parameter
// the call names (GetParameters and DeleteParameters name up to 10), each with its own Resource.
//
// FlagValueRead marks a request that asked for values decrypted (withDecryption) and succeeded:
// a SecureString's plaintext was returned. A read without decryption stays OpRead (a String
// parameter's value is returned in clear either way, and the log does not say the type) but
// without the flag. The request's value (PutParameter) is never decoded: ctParams has no field
// for it.
func ssmEvents(dst []event.Event, ev event.Event, r *ctRecord, p *ctParams, in *sources.LocalInterner) []event.Event {
	decrypt := p.WithDecryption && ev.Outcome == event.OutcomeOK
	one := func(e event.Event, id string) event.Event {
		e.Path = in.Str(id)
		if res := NormalizeParameterID(id); res != "" {
			e.Resource = in.Str(res)
			e.SetName(len(ssmResourcePrefix))
		}
		return e
	}
	each := func(e event.Event, ids []string) []event.Event {
		if len(ids) == 0 {
			return append(dst, e)
		}
		for _, id := range ids {
			dst = append(dst, one(e, id))
		}
		return dst
	}
	switch r.EventName {
	case "GetParameter", "GetParameters", "GetParameterHistory":
		// GetParameterHistory returns every version's value, decrypted with withDecryption.
		ev.Op = event.OpRead
		if decrypt {
			ev.Flags |= event.FlagValueRead
		} else if !p.WithDecryption {
			ev.Detail = "without decryption"
		}
		if r.EventName == "GetParameters" {
			return each(ev, p.Names)
		}
		return append(dst, one(ev, p.Name))
	case "GetParametersByPath":
		// A listing that returns the values of everything under the path.
		ev.Op = event.OpList
		if decrypt {
			ev.Flags |= event.FlagValueRead
		}
		path := p.Path
		ev.Path = in.Str(path)
		if path != "" {
			ev.Resource = in.Str(ssmResourcePrefix + ssmPathScope(path, p.Recursive))
		}
		if p.Recursive && strings.Trim(path, "/") == "" && path != "" {
			ev.Flags |= event.FlagListAll
		}
		if p.Recursive {
			ev.Detail = "recursive"
		}
	case "DescribeParameters":
		ev.Op = event.OpList
		fs := append(append([]ctFilter(nil), p.Filters...), p.ParameterFilters...)
		ev.Resource = in.Str(ssmResourcePrefix + ssmListScope(fs))
		ev.Detail = in.Str(describeFilters(fs))
		if len(fs) == 0 {
			ev.Flags |= event.FlagListAll
		}
	case "PutParameter":
		ev.Op = event.OpWrite
		return append(dst, one(ev, p.Name))
	case "LabelParameterVersion":
		// Moves labels to a version: readers of name:label get another value from now on.
		ev.Op = event.OpWrite
		if len(p.Labels) > 0 {
			ev.Detail = in.Str(sources.Truncate("labels "+strings.Join(p.Labels, ",")+" moved", maxDetail))
		}
		return append(dst, one(ev, p.Name))
	case "DeleteParameter":
		// Immediate and without recovery, unlike DeleteSecret's scheduled deletion.
		ev.Op = event.OpDelete
		return append(dst, one(ev, p.Name))
	case "DeleteParameters":
		ev.Op = event.OpDelete
		return each(ev, p.Names)
	default: // UnlabelParameterVersion, tags, Run Command, sessions, inventory, ...
		ev.Op = event.OpOther
		if p.Name != "" && strings.Contains(r.EventName, "Parameter") {
			return append(dst, one(ev, p.Name))
		}
	}
	return append(dst, ev)
}

// NormalizeParameterID maps the ways a Parameter Store parameter is named to one Resource,
// "ssm:" and the name with one leading "/": "/prod/db/password",
// "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/password" and "/prod/db/password:3"
// (a version or label selector, as GetParameters accepts) all become "ssm:/prod/db/password".
// A name without a slash ("helloWorld") becomes "ssm:/helloWorld": its ARN is
// "...:parameter/helloWorld", which cannot be told from the ARN of "/helloWorld". Parameter
// names cannot contain ":", so everything from the first ":" after the name is a selector.
// Empty for an empty id.
func NormalizeParameterID(id string) string {
	name := strings.TrimSpace(id)
	if strings.HasPrefix(name, "arn:") {
		i := strings.Index(name, ":parameter/")
		if i < 0 {
			return ssmResourcePrefix + name // not a parameter ARN: kept as logged
		}
		name = name[i+len(":parameter"):]
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		name = name[:i]
	}
	if name == "" {
		return ""
	}
	if name[0] != '/' {
		name = "/" + name
	}
	return ssmResourcePrefix + name
}

// ssmPathScope is the Resource of a GetParametersByPath: the path with a trailing "/" ("/prod/"),
// and "**" after it for a recursive call ("/prod/**", everything below).
func ssmPathScope(path string, recursive bool) string {
	path = strings.TrimSpace(path)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	if recursive {
		path += "**"
	}
	return sources.Truncate(path, 120)
}

// ssmListScope is the Resource of a DescribeParameters: the names or paths its Name and Path
// filters ask for, or "*" for every parameter (no filter, or filters on type, key, tier, tags).
func ssmListScope(fs []ctFilter) string {
	var keep []ctFilter
	for _, f := range fs {
		if strings.EqualFold(f.Key, "Name") || strings.EqualFold(f.Key, "Path") {
			keep = append(keep, ctFilter{Key: "name", Values: f.Values})
		}
	}
	return listScope(keep)
}
