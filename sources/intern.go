package sources

import "strings"

// interner keeps one copy of each repeated string (paths, accessors, names) so events share them.
type interner struct {
	m     map[string]string
	lists map[string][]string
}

func newInterner() *interner {
	return &interner{m: map[string]string{}, lists: map[string][]string{}}
}

func (in *interner) s(v string) string {
	if v == "" {
		return ""
	}
	if w, ok := in.m[v]; ok {
		return w
	}
	v = strings.Clone(v)
	in.m[v] = v
	return v
}

// list interns a sorted list of strings as a whole.
func (in *interner) list(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	key := strings.Join(v, "\x00")
	if w, ok := in.lists[key]; ok {
		return w
	}
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = in.s(x)
	}
	in.lists[strings.Clone(key)] = out
	return out
}
