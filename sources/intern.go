package sources

import (
	"hash/maphash"
	"strings"
	"sync"
)

// Interner keeps one copy of each repeated string (paths, accessors, names) so events share
// them. It is safe for concurrent use: one interner serves every file and decode worker of a
// Load, each through a LocalInterner that answers most look-ups without a lock.
//
// Memory: one copy of each distinct string plus a map entry (about 40 bytes) here, and a
// bounded cache entry per worker; it grows with distinct identities and paths, not with events.
type Interner struct {
	seed   maphash.Seed
	shards [internShards]internShard

	listMu sync.Mutex
	lists  map[string][]string
}

const internShards = 32

type internShard struct {
	mu sync.Mutex
	m  map[string]string
	_  [40]byte // keep shards on separate cache lines
}

func NewInterner() *Interner {
	in := &Interner{seed: maphash.MakeSeed(), lists: map[string][]string{}}
	for i := range in.shards {
		in.shards[i].m = map[string]string{}
	}
	return in
}

// Str returns the interned copy of v. v may point into a buffer that is reused later: the
// copy kept is always a fresh string.
func (in *Interner) Str(v string) string {
	if v == "" {
		return ""
	}
	sh := &in.shards[maphash.String(in.seed, v)%internShards]
	sh.mu.Lock()
	w, ok := sh.m[v]
	if !ok {
		w = strings.Clone(v)
		sh.m[w] = w
	}
	sh.mu.Unlock()
	return w
}

// List interns a sorted list of strings as a whole.
func (in *Interner) List(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	key := strings.Join(v, "\x00")
	in.listMu.Lock()
	defer in.listMu.Unlock()
	if w, ok := in.lists[key]; ok {
		return w
	}
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = in.Str(x)
	}
	in.lists[key] = out
	return out
}

// localCacheMax bounds a worker's cache; past it the cache starts again (the shared interner
// still has everything), so a million distinct paths cost one copy, not one per worker.
const localCacheMax = 1 << 16

// LocalInterner is one goroutine's view of an interner: a lock-free cache in front of it.
// It is not safe for concurrent use.
type LocalInterner struct {
	g       *Interner
	m       map[string]string
	lists   map[string][]string
	key     []byte
	scratch []string
}

// Local is a new lock-free cache in front of in, for one goroutine.
func (in *Interner) Local() *LocalInterner {
	return &LocalInterner{g: in, m: map[string]string{}, lists: map[string][]string{}}
}

// Str is Interner.Str through the cache.
func (l *LocalInterner) Str(v string) string {
	if v == "" {
		return ""
	}
	if w, ok := l.m[v]; ok {
		return w
	}
	w := l.g.Str(v)
	if len(l.m) >= localCacheMax {
		clear(l.m)
	}
	l.m[w] = w // keyed by the interned copy: v may point into a read buffer
	return w
}

// List interns a sorted list of strings as a whole (its elements may point into a buffer).
func (l *LocalInterner) List(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	l.key = l.key[:0]
	for i, x := range v {
		if i > 0 {
			l.key = append(l.key, 0)
		}
		l.key = append(l.key, x...)
	}
	if w, ok := l.lists[string(l.key)]; ok {
		return w
	}
	w := l.g.List(v)
	if len(l.lists) >= localCacheMax {
		clear(l.lists)
	}
	l.lists[string(l.key)] = w
	return w
}

// ListOf interns the list build writes into dst (scratch space the interner keeps).
func (l *LocalInterner) ListOf(build func(dst []string) []string) []string {
	l.scratch = build(l.scratch[:0])
	return l.List(l.scratch)
}

// Concat interns a+b, building it only when it is not known yet.
func (l *LocalInterner) Concat(a, b string) string {
	if b == "" {
		return l.Str(a)
	}
	if a == "" {
		return l.Str(b)
	}
	l.key = append(append(l.key[:0], a...), b...)
	if w, ok := l.m[string(l.key)]; ok {
		return w
	}
	return l.Str(string(l.key))
}

// Join interns the concatenation of parts, building it only when it is not known yet.
func (l *LocalInterner) Join(parts ...string) string {
	l.key = l.key[:0]
	for _, p := range parts {
		l.key = append(l.key, p...)
	}
	if len(l.key) == 0 {
		return ""
	}
	if w, ok := l.m[string(l.key)]; ok {
		return w
	}
	return l.Str(string(l.key))
}
