package spill

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/vaultsentry/vaultsentry/event"
)

// newLog is a log in the test's temporary directory, closed at the end.
func newLog(t testing.TB) *Log {
	t.Helper()
	l, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// collect is one pass, each event copied.
func collect(t testing.TB, l *Log) []event.Event {
	t.Helper()
	var out []event.Event
	for ev := range l.Events() {
		out = append(out, *ev)
	}
	if err := l.Err(); err != nil {
		t.Fatalf("pass: %v", err)
	}
	return out
}

// settable makes any field of an addressable struct settable, unexported ones included.
func settable(v reflect.Value) reflect.Value {
	if v.CanSet() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

var (
	timeType = reflect.TypeFor[time.Time]()
	addrType = reflect.TypeFor[netip.Addr]()
)

// fill sets every field of v, recursively, to a non-zero value that depends on seed. A field
// of a kind it does not know fails the test: teach fill and spill's encoder about it.
func fill(t *testing.T, v reflect.Value, path string, seed int) {
	t.Helper()
	switch v.Type() {
	case timeType:
		v.Set(reflect.ValueOf(time.Date(2026, 9, 21, 6, seed%60, seed%7, seed*1001+7, time.UTC)))
		return
	case addrType:
		v.Set(reflect.ValueOf(netip.AddrFrom4([4]byte{10, 1, byte(seed >> 8), byte(seed)})))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("%s-%d", path, seed))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(seed*3 + 1))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(seed%200 + 1))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), fmt.Sprintf("%s[%d]", path, i), seed+i)
		}
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem(), path, seed)
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, settable(v.Field(i)), path+"."+v.Type().Field(i).Name, seed)
		}
	default:
		t.Fatalf("%s: a field of kind %s: teach fill (and spill's encoder) about it", path, v.Kind())
	}
}

// diff names the fields where got differs from want (unexported ones included).
func diff(want, got reflect.Value, path string) []string {
	switch {
	case want.Type() == timeType || want.Type() == addrType || want.Kind() != reflect.Struct && want.Kind() != reflect.Pointer:
		if !reflect.DeepEqual(settable(want).Interface(), settable(got).Interface()) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, settable(got).Interface(), settable(want).Interface())}
		}
		return nil
	case want.Kind() == reflect.Pointer:
		if want.IsNil() != got.IsNil() {
			return []string{fmt.Sprintf("%s: nil %v, want nil %v", path, got.IsNil(), want.IsNil())}
		}
		if want.IsNil() {
			return nil
		}
		return diff(want.Elem(), got.Elem(), path)
	}
	var out []string
	for i := range want.NumField() {
		out = append(out, diff(want.Field(i), got.Field(i), path+"."+want.Type().Field(i).Name)...)
	}
	return out
}

// sameEvents fails on the first event that differs, naming its fields.
func sameEvents(t *testing.T, got, want []event.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events back, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := reflect.ValueOf(&want[i]).Elem(), reflect.ValueOf(&got[i]).Elem()
		if d := diff(w, g, "Event"); len(d) > 0 {
			t.Fatalf("event %d:\n%s", i, strings.Join(d, "\n"))
		}
	}
}

// TestRoundTripEveryField fills every field of event.Event by reflection, so a field added
// later and forgotten by the encoder fails here.
func TestRoundTripEveryField(t *testing.T) {
	var want []event.Event
	for seed := 1; seed <= 40; seed++ {
		var ev event.Event
		fill(t, reflect.ValueOf(&ev).Elem(), "Event", seed)
		if seed%5 == 0 {
			ev = want[len(want)-1] // the same event again: nothing changes
		}
		want = append(want, ev)
		if seed%7 == 0 {
			want = append(want, event.Event{}) // every field back to zero
		}
	}
	// Each field alone differs from the event before it.
	base := want[0]
	bv := reflect.ValueOf(&base).Elem()
	for i := range bv.NumField() {
		ev := base
		fill(t, settable(reflect.ValueOf(&ev).Elem().Field(i)), "Event."+bv.Type().Field(i).Name, 99)
		want = append(want, ev, base)
	}
	// The filler must leave no leaf at its zero value, or the test would prove nothing.
	var zero event.Event
	for i := range bv.NumField() {
		if reflect.DeepEqual(settable(bv.Field(i)).Interface(), settable(reflect.ValueOf(&zero).Elem().Field(i)).Interface()) {
			t.Fatalf("fill left %s at zero", bv.Type().Field(i).Name)
		}
	}
	l := newLog(t)
	for i := range want {
		l.Add(&want[i])
	}
	if l.Len() != len(want) {
		t.Fatalf("Len %d, want %d", l.Len(), len(want))
	}
	sameEvents(t, collect(t, l), want)
}

func TestRoundTripEdgeCases(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	parsed, err := time.Parse(time.RFC3339Nano, "2026-09-21T08:00:00.5+02:00")
	if err != nil {
		t.Fatal(err)
	}
	utc := time.Date(2026, 9, 21, 6, 0, 0, 0, time.UTC)
	times := []time.Time{
		{},
		utc,
		utc.Add(time.Nanosecond),
		utc.Add(time.Microsecond),
		utc.Add(time.Second),
		utc.Add(-time.Hour),
		utc,
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		utc.Add(time.Duration(1<<62) - 1),
		utc,
		parsed,
		utc.In(time.Local),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 5*3600+1800)),
		utc,
	}
	addrs := []netip.Addr{
		{},
		netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("::ffff:192.0.2.1"),
		netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("fe80::1%eth0"),
		netip.MustParseAddr("fe80::1%eth1"),
		netip.MustParseAddr("192.0.2.1"),
		{},
	}
	lists := [][]string{nil, {}, {"default"}, {"default", "prod-read"}, {}, nil, {""}, {"default"}}
	grants := []*event.Grant{
		nil,
		{},
		{Principals: []string{}, Conditions: []string{}},
		{Principals: []string{"*"}, Condition: true, BlockPublic: "false", OrgScoped: true, Conditions: []string{"aws:PrincipalOrgID=o-1"}},
		{Principals: []string{"*"}, Condition: true, BlockPublic: "false", OrgScoped: true, Conditions: []string{"aws:PrincipalOrgID=o-1"}},
		nil,
		{Principals: []string{"123456789012"}, BlockPublic: "true"},
	}
	var want []event.Event
	for i := range 64 {
		ev := event.Event{
			Time:        times[i%len(times)],
			Pos:         event.Pos{File: []string{"a.log", "", "b.log"}[i%3], Line: []int{1, 3, -5, 1 << 62, -1 << 63, 0}[i%6]},
			Kind:        event.Kind(i % 4),
			Op:          event.Op(i % 9),
			Outcome:     event.Outcome(255 - i%3),
			Flags:       event.Flags(uint32(1)<<(i%32) | uint32(i%3)<<31),
			Class:       event.Class(i % 3),
			Resource:    "kv/prod/db",
			RemoteAddr:  addrs[i%len(addrs)],
			Policies:    lists[i%len(lists)],
			NewPolicies: lists[(i+3)%len(lists)],
			Grant:       grants[i%len(grants)],
			Detail:      strings.Repeat("x", i*100),
		}
		switch i % 4 {
		case 1:
			ev.SetName(3)
		case 2:
			ev.SetNameOffset(60000) // beyond Resource: kept as is
		}
		want = append(want, ev)
	}
	l := newLog(t)
	for i := range want {
		l.Add(&want[i])
	}
	got := collect(t, l)
	sameEvents(t, got, want)
	// A named zone comes back as a fixed zone with the same name and offset at that time.
	l2 := newLog(t)
	nt := time.Date(2026, 7, 1, 12, 0, 0, 0, ny)
	l2.Add(&event.Event{Time: nt})
	for ev := range l2.Events() {
		wn, wo := nt.Zone()
		gn, goff := ev.Time.Zone()
		if !ev.Time.Equal(nt) || gn != wn || goff != wo {
			t.Errorf("named zone: got %v (%s %d), want %v (%s %d)", ev.Time, gn, goff, nt, wn, wo)
		}
	}
	if l2.Err() != nil {
		t.Fatal(l2.Err())
	}
}

// Grants, policy lists and strings that compare equal share one copy on read, and a list
// given twice with different backing arrays is one dictionary entry.
func TestSharedValues(t *testing.T) {
	l := newLog(t)
	a := []string{"default", "prod"}
	b := []string{"default", "prod"}
	l.Add(&event.Event{Policies: a})
	l.Add(&event.Event{Policies: nil})
	l.Add(&event.Event{Policies: b})
	b[1] = "dev" // the caller's array changes after Add: the log kept its own copy
	l.Add(&event.Event{Policies: b})
	got := collect(t, l)
	if len(l.d.lists) != 2 {
		t.Errorf("%d lists in the dictionary, want 2", len(l.d.lists))
	}
	if got[1].Policies != nil || !reflect.DeepEqual(got[2].Policies, []string{"default", "prod"}) || !reflect.DeepEqual(got[3].Policies, []string{"default", "dev"}) {
		t.Errorf("policies back: %q", [][]string{got[0].Policies, got[1].Policies, got[2].Policies, got[3].Policies})
	}
	if &got[0].Policies[0] != &got[2].Policies[0] {
		t.Error("the same list read back twice is two slices")
	}
}

func TestPasses(t *testing.T) {
	l := newLog(t)
	evs := realistic(1000)
	for i := range 500 {
		l.Add(&evs[i])
	}
	first := collect(t, l)
	sameEvents(t, first, evs[:500])
	sameEvents(t, collect(t, l), evs[:500])
	// Add between passes: the next pass sees everything.
	for i := 500; i < 1000; i++ {
		l.Add(&evs[i])
	}
	sameEvents(t, collect(t, l), evs)
	// Break early, then a full pass.
	n := 0
	for range l.Events() {
		n++
		if n == 10 {
			break
		}
	}
	if n != 10 || l.Err() != nil {
		t.Fatalf("early break: %d events, err %v", n, l.Err())
	}
	// A pass inside a pass, and an Add inside a pass: seen by the next pass only.
	n = 0
	for ev := range l.Events() {
		if n == 0 {
			inner := collect(t, l)
			sameEvents(t, inner, evs)
			extra := *ev
			l.Add(&extra)
		}
		n++
	}
	if n != 1000 {
		t.Fatalf("outer pass: %d events, want 1000", n)
	}
	all := collect(t, l)
	sameEvents(t, all, append(evs[:1000:1000], evs[0]))
	if l.Len() != 1001 {
		t.Fatalf("Len %d", l.Len())
	}
}

func TestCloseRemovesFile(t *testing.T) {
	dir := t.TempDir()
	l, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(l.Name()), "vaultsentry-spill-") || filepath.Dir(l.Name()) != dir {
		t.Errorf("file %s", l.Name())
	}
	l.Add(&event.Event{Action: "read"})
	collect(t, l)
	if _, err := os.Stat(l.Name()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(l.Name()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	l.Add(&event.Event{}) // dropped, no panic
	for range l.Events() {
		t.Fatal("a closed log yielded an event")
	}
	if l.Err() == nil {
		t.Error("a pass over a closed log left no error")
	}
	// The default directory.
	l2, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(l2.Name()) != filepath.Clean(os.TempDir()) {
		t.Errorf("New(\"\") made %s", l2.Name())
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewError(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("New in a missing directory succeeded")
	}
}

// failAfter accepts n bytes, then fails as a full disk does.
type failAfter struct{ n int }

var errFull = errors.New("no space left on device")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, errFull
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	// Failing at once, in the header, mid-file (a later flush), and only at the pass's flush.
	for _, after := range []int{0, 5, 1<<20 + 3, 2<<20 + 100} {
		l := newLog(t)
		l.w = &failAfter{n: after}
		evs := realistic(200000)
		for i := range evs {
			l.Add(&evs[i])
		}
		collect := func() int {
			n := 0
			for range l.Events() {
				n++
			}
			return n
		}
		n := collect()
		t.Logf("failing after %d bytes: %d events kept, %d bytes", after, l.Len(), l.Bytes())
		err := l.Err()
		if !errors.Is(err, errFull) || !strings.Contains(err.Error(), l.Name()) {
			t.Fatalf("after %d bytes: Err %v, want the full disk with the file name", after, err)
		}
		if n != 0 {
			t.Errorf("a log that failed to write yielded %d events", n)
		}
		if l.Bytes() > int64(after+writeBuffer) && l.Len() >= len(evs) {
			t.Errorf("Len %d counts events dropped after the error", l.Len())
		}
	}
}

// On Linux /dev/full fails every write with ENOSPC, as a full disk does.
func TestDevFull(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	l := newLog(t)
	l.w = f
	l.Add(&event.Event{Action: "read"})
	for range l.Events() {
		t.Fatal("yielded an event")
	}
	if l.Err() == nil || !strings.Contains(l.Err().Error(), "no space left") {
		t.Fatalf("Err %v", l.Err())
	}
}

func TestCorruptFile(t *testing.T) {
	evs := realistic(5000)
	build := func() *Log {
		l := newLog(t)
		for i := range evs {
			l.Add(&evs[i])
		}
		l.flush()
		return l
	}
	// Truncated under the log: the pass stops with an error naming the file.
	l := build()
	if err := os.Truncate(l.Name(), l.Bytes()/2); err != nil {
		t.Fatal(err)
	}
	n := 0
	for range l.Events() {
		n++
	}
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), l.Name()) || n == 0 || n >= len(evs) {
		t.Fatalf("truncated: %d events, err %v", n, err)
	}
	// Bytes overwritten: never a panic, and an error or events (a changed byte may still
	// decode); the header is checked.
	for _, at := range []int64{0, 9, 100, 1000} {
		l := build()
		f, err := os.OpenFile(l.Name(), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{0xff, 0xff, 0xff}, at); err != nil {
			t.Fatal(err)
		}
		f.Close()
		n := 0
		for range l.Events() {
			n++
		}
		if at == 0 && (l.Err() == nil || n != 0) {
			t.Errorf("bad header: %d events, err %v", n, l.Err())
		}
		if l.Err() == nil && n != len(evs) {
			t.Errorf("at %d: %d events and no error", at, n)
		}
	}
}

// The dictionaries grow with distinct values, never with events.
func TestDictionaryBounded(t *testing.T) {
	l := newLog(t)
	evs := realistic(100)
	for i := range evs {
		l.Add(&evs[i])
	}
	sizes := func() [5]int {
		return [5]int{len(l.d.strs), len(l.d.addrs), len(l.d.lists), len(l.d.grants), len(l.d.idents)}
	}
	s0, b0 := sizes(), l.Bytes()
	const n = 1_000_000
	ev := evs[0]
	for i := range n {
		ev.Time = ev.Time.Add(time.Millisecond)
		ev.Pos.Line += 2
		src := &evs[i%len(evs)]
		ev.Credential, ev.Principal, ev.DisplayName, ev.Path = src.Credential, src.Principal, src.DisplayName, src.Path
		ev.Policies, ev.RemoteAddr = src.Policies, src.RemoteAddr
		l.Add(&ev)
	}
	if s := sizes(); s != s0 {
		t.Fatalf("dictionaries grew from %v to %v over %d repeated events", s0, s, n)
	}
	if per := float64(l.Bytes()-b0) / n; per > 16 {
		t.Errorf("%.1f bytes per repeated event", per)
	}
	// The very same event again: the mask alone.
	s1, b1 := sizes(), l.Bytes()
	same := evs[0]
	for range n {
		l.Add(&same)
	}
	l.Add(&ev) // back to the last one, for the check below
	if s := sizes(); s != s1 || l.Bytes()-b1 > n+64 {
		t.Fatalf("%d identical events: dictionaries %v to %v, %d bytes", n, s1, s, l.Bytes()-b1)
	}
	count := 0
	for got := range l.Events() {
		if count == n+100 {
			break // the identical ones follow
		}
		if count >= 100 && (got.Pos.Line != evs[0].Pos.Line+2*(count-99) || got.Principal != evs[(count-100)%100].Principal) {
			t.Fatalf("event %d: line %d principal %q", count, got.Pos.Line, got.Principal)
		}
		count++
	}
	if count != n+100 || l.Err() != nil || l.Len() != 2*n+101 {
		t.Fatalf("%d events back, err %v", count, l.Err())
	}
}

// realistic builds n Vault-like events over a few identities and paths.
func realistic(n int) []event.Event {
	t0 := time.Date(2026, 9, 21, 6, 0, 0, 0, time.UTC)
	pols := [][]string{{"default", "app-read"}, {"default", "ops"}, {"root"}}
	out := make([]event.Event, n)
	for i := range out {
		id := i % 37
		ev := event.Event{
			Time:        t0.Add(time.Duration(i) * 24937 * time.Microsecond).Add(time.Duration(i%1000) * time.Nanosecond),
			Pos:         event.Pos{File: "audit.log", Line: 2*i + 1},
			Kind:        event.KindVault,
			Op:          event.OpRead,
			Flags:       event.FlagValueRead,
			Class:       event.ClassWorkload,
			Action:      "read",
			Credential:  fmt.Sprintf("hmac-sha256:%064x", id),
			Principal:   fmt.Sprintf("entity-%08d-aaaa-bbbb-cccc", id),
			DisplayName: fmt.Sprintf("approle-app%d", id),
			Path:        fmt.Sprintf("kv/data/app%d/secret%d", id, i%211),
			Mount:       "kv/",
			MountType:   "kv",
			RemoteAddr:  netip.AddrFrom4([4]byte{10, 0, byte(id), 7}),
			Policies:    pols[id%len(pols)],
		}
		ev.Resource = fmt.Sprintf("kv/app%d/secret%d", id, i%211)
		ev.SetName(3)
		if i%10 == 0 {
			ev.Op, ev.Action, ev.Flags = event.OpList, "list", event.FlagListAll
		}
		if i%97 == 0 {
			ev.Outcome = event.OutcomeDenied
		}
		out[i] = ev
	}
	return out
}

// Identities: the same one in other memory costs nothing, a list changed in place is seen,
// and past the dictionary's bound identities are written in full and still read back.
func TestIdentities(t *testing.T) {
	pols := []string{"default", "prod"}
	a := event.Event{Credential: "hmac-sha256:aa", Principal: "entity-1", DisplayName: "approle", Policies: pols,
		RemoteAddr: netip.MustParseAddr("10.0.0.1"), UserAgent: "vault-cli", Workload: "system:serviceaccount:ns:app"}
	b := a
	b.Credential, b.Principal = strings.Clone(a.Credential), strings.Clone(a.Principal)
	b.Policies = []string{"default", "prod"}
	l := newLog(t)
	l.Add(&a)
	before := l.Bytes()
	l.Add(&b)
	if got := l.Bytes() - before; got != 1 {
		t.Errorf("the same identity in other memory took %d bytes, want the mask's 1", got)
	}
	pols[1] = "dev" // changed in place: the next event's identity differs
	c := a
	l.Add(&c)
	empty := a
	empty.Credential = a.Credential[:0] // an empty string with a data pointer
	empty.Policies = []string{}
	l.Add(&empty)
	want := []event.Event{a, b, c, empty}
	want[0].Policies = []string{"default", "prod"}
	sameEvents(t, collect(t, l), want)
	if len(l.d.idents) != 3 {
		t.Errorf("%d identities in the dictionary, want 3", len(l.d.idents))
	}

	defer func(n int) { maxIdents = n }(maxIdents)
	maxIdents = 10
	l = newLog(t)
	evs := realistic(2000)
	for i := range evs {
		l.Add(&evs[i])
	}
	if len(l.d.idents) != 10 {
		t.Errorf("%d identities past a bound of 10", len(l.d.idents))
	}
	sameEvents(t, collect(t, l), evs)
	b2, err := os.ReadFile(l.Name())
	if err != nil {
		t.Fatal(err)
	}
	var got []event.Event
	if _, err := decodeAll(b2, len(evs)+1, func(ev *event.Event) { got = append(got, *ev) }); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, got, evs)
}
