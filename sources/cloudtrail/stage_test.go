package cloudtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/ctgen"
	"github.com/vaultsentry/vaultsentry/internal/testutil"
	"github.com/vaultsentry/vaultsentry/sources"
)

// readOnly is Format without Combine and Finish: Load then gives what sources.Stream merges,
// every file's events as read, in one time-ordered slice (ties: input, then position), and
// the statistics as the readers left them.
type readOnly struct{ f Format }

func (r readOnly) Name() string                            { return r.f.Name() }
func (r readOnly) Title() string                           { return r.f.Title() }
func (r readOnly) Sniff(name string, h *sources.Head) bool { return r.f.Sniff(name, h) }
func (r readOnly) Read(ctx context.Context, f *sources.File, st *sources.FileStats) sources.Batch {
	return r.f.Read(ctx, f, st)
}

func inputs(paths []string) []sources.Input {
	var ins []sources.Input
	for _, p := range paths {
		ins = append(ins, sources.Input{Name: p})
	}
	return ins
}

// loadBoth loads paths as Load does today (Combine, merge, Finish) and as the stream does (the
// merged events through the stage, its counts applied at the end), and checks that
// sources.Stream gives Load's events and statistics too.
func loadBoth(t *testing.T, paths ...string) (load, stream *sources.Loaded) {
	t.Helper()
	load, err := sources.Load(context.Background(), inputs(paths), sources.LoadOptions{Formats: []sources.FileFormat{Format{}}})
	if err != nil {
		t.Fatal(err)
	}
	stream, err = sources.Load(context.Background(), inputs(paths), sources.LoadOptions{Formats: []sources.FileFormat{readOnly{}}})
	if err != nil {
		t.Fatal(err)
	}
	stream.Events = runStage(Format{}.NewStage(), stream.Events, stream.Files)
	// and sources.Stream itself, which runs the stage, agrees
	var got []event.Event
	res, err := sources.Stream(context.Background(), inputs(paths), sources.LoadOptions{Formats: []sources.FileFormat{Format{}}}, func(evs []event.Event) error {
		got = append(got, evs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res.Events = got
	for i := range res.Files {
		if res.Files[i].Late != 0 {
			t.Errorf("%s: %d late events", res.Files[i].File, res.Files[i].Late)
		}
	}
	sameLoads(t, load, res)
	return load, stream
}

// runStage pushes evs through st and returns what it emits, checking that it emits in time
// order; the counts are applied to files.
func runStage(st sources.Stage, evs []event.Event, files []sources.FileStats) []event.Event {
	var out []event.Event
	emit := func(ev *event.Event) { out = append(out, *ev) }
	for i := range evs {
		st.Push(&evs[i], emit)
	}
	st.Flush(emit)
	st.Apply(files)
	return out
}

func sameLoads(t *testing.T, load, stream *sources.Loaded) {
	t.Helper()
	if len(load.Events) != len(stream.Events) {
		t.Fatalf("Load: %d events, the stage: %d", len(load.Events), len(stream.Events))
	}
	for i := range load.Events {
		if !reflect.DeepEqual(load.Events[i], stream.Events[i]) {
			t.Fatalf("event %d differs\n  Load %+v\nstream %+v", i, load.Events[i], stream.Events[i])
		}
	}
	if !reflect.DeepEqual(load.Files, stream.Files) {
		for i := range load.Files {
			if !reflect.DeepEqual(load.Files[i], stream.Files[i]) {
				t.Errorf("%s: statistics differ\n  Load %+v\nstream %+v", load.Files[i].File, load.Files[i], stream.Files[i])
			}
		}
	}
	for _, f := range stream.Files {
		if !f.Balanced() {
			t.Errorf("%s not balanced: %+v", f.File, f)
		}
	}
}

func writeNDJSON(t *testing.T, path string, recs ...map[string]any) string {
	t.Helper()
	var b bytes.Buffer
	for _, r := range recs {
		json.NewEncoder(&b).Encode(r)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStageMatchesLoad: the stage over the merged stream gives Load's events and statistics:
// a generated S3 tree (records delivered twice and late, batch reads with their GetSecretValue
// records), and hand-made files with the same record in two files and twice in one, a batch
// read delivered twice, batch reads with and without their echoes, a secret twice in a batch.
func TestStageMatchesLoad(t *testing.T) {
	t.Run("ctgen", func(t *testing.T) {
		dir := t.TempDir()
		gs, err := ctgen.Write(dir, 8<<20, ctgen.Options{DuplicateShare: 0.03, LateShare: 0.05, Accounts: 1, Regions: []string{"eu-west-1", "us-east-1"}})
		if err != nil {
			t.Fatal(err)
		}
		ins, errs := sources.Expand([]string{dir})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		var paths []string
		for _, in := range ins {
			paths = append(paths, in.Name)
		}
		load, stream := loadBoth(t, paths...)
		sameLoads(t, load, stream)
		dups, echoes := 0, 0
		for _, f := range load.Files {
			dups += f.Duplicates
			echoes += f.BatchEchoes
		}
		if dups != gs.Duplicates || echoes == 0 {
			t.Errorf("%d duplicates (ctgen wrote %d), %d batch echoes: the tree does not test what it should", dups, gs.Duplicates, echoes)
		}
	})
	t.Run("hand-made", func(t *testing.T) {
		dir := t.TempDir()
		t0 := time.Date(2026, 9, 11, 12, 0, 0, 0, time.UTC)
		arnB := "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/b-XyZ123"
		get := func(id string, at time.Duration, secret string) map[string]any {
			return testutil.CTRecord(id, t0.Add(at), "GetSecretValue", `{"secretId":"`+secret+`"}`, "")
		}
		batch := func(id string, at time.Duration, ids ...string) map[string]any {
			return testutil.CTRecord(id, t0.Add(at), "BatchGetSecretValue", `{"secretIdList":["`+strings.Join(ids, `","`)+`"]}`, "")
		}
		list := testutil.CTRecord("l1", t0.Add(3*time.Second), "ListSecrets", `{}`, "")
		a := writeNDJSON(t, filepath.Join(dir, "a.ndjson"),
			get("g1", 0, "prod/a"), batch("b1", 0, "prod/a", arnB, "prod/c"), get("g2", time.Second, "prod/b"),
			get("g1", 0, "prod/a"), // twice in one file
			batch("b2", 10*time.Second, "prod/d", "prod/d", "prod/e"), list, // no echo; prod/d twice
			get("g3", 12*time.Second, "prod/e"), // 2 s after b2: not its echo
		)
		b := writeNDJSON(t, filepath.Join(dir, "b.ndjson"),
			get("g2", time.Second, "prod/b"),                                           // in a.ndjson too
			batch("b2", 10*time.Second, "prod/d", "prod/d", "prod/e"),                  // a batch read delivered twice
			batch("b3", 20*time.Second, "prod/f"), get("g4", 21*time.Second, "prod/f"), // echo a second later
			get("g5", 30*time.Second, "prod/x"),
		)
		c := writeNDJSON(t, filepath.Join(dir, "c.ndjson"), get("g5", 30*time.Second, "prod/x"), list, get("g6", 40*time.Minute, "prod/y"))
		load, stream := loadBoth(t, a, b, c)
		sameLoads(t, load, stream)
		var got []string
		for _, ev := range stream.Events {
			got = append(got, ev.ID+":"+ev.Resource)
		}
		wantEvs := "g1:prod/a b1:prod/c g2:prod/b l1:* b2:prod/d b2:prod/e g3:prod/e g4:prod/f g5:prod/x g6:prod/y"
		if strings.Join(got, " ") != wantEvs {
			t.Errorf("events\n got %s\nwant %s", strings.Join(got, " "), wantEvs)
		}
		wantStats := []struct{ dups, echoes, skip int }{{1, 3, 1}, {2, 1, 2}, {2, 0, 2}}
		for i, w := range wantStats {
			f := stream.Files[i]
			if f.Duplicates != w.dups || f.BatchEchoes != w.echoes || f.Skipped["duplicate"] != w.skip {
				t.Errorf("%s: %d duplicates, %d echoes, skipped %v; want %d, %d, %d", f.File, f.Duplicates, f.BatchEchoes, f.Skipped, w.dups, w.echoes, w.skip)
			}
		}
	})
	t.Run("echo-tests", func(t *testing.T) {
		// TestBatchEchoes' inputs
		t0 := time.Date(2026, 9, 11, 12, 5, 2, 0, time.UTC)
		arn := "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/b-XyZ123"
		batch := testutil.CTRecord("b1", t0, "BatchGetSecretValue", `{"secretIdList":["prod/a","`+arn+`","prod/c"]}`, "")
		echoA := testutil.CTRecord("g1", t0, "GetSecretValue", `{"secretId":"prod/a"}`, "")
		echoB := testutil.CTRecord("g2", t0.Add(time.Second), "GetSecretValue", `{"secretId":"prod/b"}`,
			`{"resources":[{"type":"AWS::SecretsManager::Secret","ARN":"`+arn+`"}]}`)
		echoC := testutil.CTRecord("g3", t0, "GetSecretValue", `{"secretId":"prod/c"}`, `{"errorCode":"AccessDenied"}`)
		later := testutil.CTRecord("g4", t0.Add(10*time.Minute), "GetSecretValue", `{"secretId":"prod/a"}`, "")
		dir := t.TempDir()
		load, stream := loadBoth(t, writeNDJSON(t, filepath.Join(dir, "echo.ndjson"), echoB, batch, echoA, echoC, later))
		sameLoads(t, load, stream)
		if stream.Files[0].BatchEchoes != 3 {
			t.Errorf("%d echoes, want 3", stream.Files[0].BatchEchoes)
		}
		load, stream = loadBoth(t, writeNDJSON(t, filepath.Join(dir, "batch-only.ndjson"), batch))
		sameLoads(t, load, stream)
		if len(stream.Events) != 3 {
			t.Errorf("batch alone: %d events, want 3", len(stream.Events))
		}
	})
}

// ctEvent is a CloudTrail event of record rec of file, with eventID id.
func ctEvent(at time.Time, file string, rec uint32, id, action, secret string) event.Event {
	return event.Event{Time: at, Pos: event.Pos{File: file, Line: int(rec)}, Kind: event.KindCloudTrail, Op: event.OpRead,
		Action: action, Principal: "arn:aws:iam::111122223333:role/sync", Resource: secret, Record: rec, ID: id}
}

// TestStageOtherKinds: the stage passes other formats' events on in their place, the same
// pointer when nothing is held; while a batch read waits they wait behind it, in order.
func TestStageOtherKinds(t *testing.T) {
	t0 := time.Date(2026, 9, 11, 12, 0, 0, 0, time.UTC)
	vault := func(at time.Duration, path string) event.Event {
		return event.Event{Time: t0.Add(at), Kind: event.KindVault, Op: event.OpRead, Action: "read", Path: path, Pos: event.Pos{File: "vault.log"}}
	}
	evs := []event.Event{
		vault(0, "kv/a"),
		ctEvent(t0, "ct.json", 1, "g1", "GetSecretValue", "prod/a"),
		vault(0, "kv/b"),
		ctEvent(t0.Add(time.Second), "ct.json", 2, "b1", "BatchGetSecretValue", "prod/a"), // the echo of g1
		ctEvent(t0.Add(time.Second), "ct.json", 2, "b1", "BatchGetSecretValue", "prod/b"),
		vault(time.Second, "kv/c"),
		ctEvent(t0.Add(1500*time.Millisecond), "ct.json", 3, "g2", "GetSecretValue", "prod/b"), // the echo of b1's prod/b
		vault(2*time.Second, "kv/d"),
		vault(3*time.Second, "kv/e"),
		ctEvent(t0.Add(3*time.Second), "ct.json", 1, "g1", "GetSecretValue", "prod/a"), // another file's copy? no: same file, same record
	}
	evs[len(evs)-1].Pos.File = "ct2.json" // a copy of g1 in another file
	st := Format{}.NewStage()
	var got []string
	direct := 0
	for i := range evs {
		st.Push(&evs[i], func(ev *event.Event) {
			if ev == &evs[i] {
				direct++
			}
			got = append(got, ev.Path+ev.ID+ev.Resource)
		})
	}
	st.Flush(func(ev *event.Event) { got = append(got, ev.Path+ev.ID+ev.Resource) })
	want := "kv/a g1prod/a kv/b kv/c g2prod/b kv/d kv/e"
	if strings.Join(got, " ") != want {
		t.Errorf("emitted\n %s\nwant\n %s", strings.Join(got, " "), want)
	}
	if direct != 4 {
		t.Errorf("%d events handed on without a copy, want the 3 before the batch read and the one after its decision", direct)
	}
	files := []sources.FileStats{{File: "vault.log", Events: 5}, {File: "ct.json", Events: 4, Parsed: 3}, {File: "ct2.json", Events: 1, Parsed: 1, Lines: 1}}
	st.Apply(files)
	if files[1].BatchEchoes != 2 || files[1].Events != 2 || files[2].Duplicates != 1 || files[2].Events != 0 || files[2].Skipped["duplicate"] != 1 || files[0].Events != 5 {
		t.Errorf("statistics %+v", files)
	}
}

// TestStageWindow: a stream of a million distinct records keeps no more eventIDs than
// DuplicateWindow holds; a copy within the window is dropped even at another time, one beyond
// it is analysed again and counted in its file's note.
func TestStageWindow(t *testing.T) {
	t0 := time.Date(2026, 9, 11, 0, 0, 0, 0, time.UTC)
	st := newStage(true)
	const n = 1_000_000
	step := 250 * time.Millisecond // four records a second
	maxSeen, emitted := 0, 0
	emit := func(*event.Event) { emitted++ }
	ev := ctEvent(t0, "ct.json", 0, "", "GetSecretValue", "prod/a")
	var id []byte
	for i := range n {
		id = fmt.Appendf(id[:0], "%08d-0000-4000-8000-000000000000", i)
		ev.Time, ev.Record, ev.ID = t0.Add(time.Duration(i)*step), uint32(i+1), string(id)
		st.Push(&ev, emit)
		maxSeen = max(maxSeen, len(st.dedup.seen))
	}
	st.Flush(emit)
	perWindow := int(DuplicateWindow/step) + 4 // ids of one second are forgotten together
	if emitted != n || maxSeen > perWindow || maxSeen < perWindow-8 || st.dedup.expiry.n != len(st.dedup.seen) {
		t.Errorf("%d emitted (want %d); at most %d ids kept, want about %d; expiry %d", emitted, n, maxSeen, perWindow, st.dedup.expiry.n)
	}
	if st.echo.held.n != 0 || len(st.echo.held.buf) != 0 {
		t.Errorf("events held without a batch read: %d (buffer %d)", st.echo.held.n, len(st.echo.held.buf))
	}

	st = newStage(true)
	var got []string
	emit = func(ev *event.Event) { got = append(got, ev.ID+"@"+ev.Time.Sub(t0).String()+"/"+ev.Pos.File) }
	push := func(at time.Duration, file string, rec uint32, id string) {
		e := ctEvent(t0.Add(at), file, rec, id, "GetSecretValue", "prod/a")
		st.Push(&e, emit)
	}
	push(0, "a.json", 1, "x")
	push(0, "b.json", 1, "x")               // a copy: dropped
	push(DuplicateWindow, "b.json", 2, "x") // another time, within the window: dropped
	push(DuplicateWindow+time.Second, "a.json", 2, "y")
	push(DuplicateWindow+time.Second, "c.json", 1, "x")   // beyond: kept, counted late
	push(DuplicateWindow+2*time.Second, "c.json", 2, "x") // a copy of the late copy: dropped
	st.Flush(emit)
	want := "x@0s/a.json y@15m1s/a.json x@15m1s/c.json"
	if strings.Join(got, " ") != want {
		t.Errorf("emitted %s, want %s", strings.Join(got, " "), want)
	}
	files := []sources.FileStats{{File: "a.json"}, {File: "b.json"}, {File: "c.json"}}
	st.Apply(files)
	if files[1].Duplicates != 2 || files[2].Duplicates != 1 || !strings.Contains(files[2].Note, "1 record repeats the eventID of a record logged more than 15m0s earlier") {
		t.Errorf("statistics %+v", files)
	}
}

// BenchmarkStage: events through the stage, distinct records, four a second; batch: one
// record in ten a BatchGetSecretValue of three secrets, half of them with their echoes.
func BenchmarkStage(b *testing.B) {
	t0 := time.Date(2026, 9, 11, 0, 0, 0, 0, time.UTC)
	const n = 200_000
	gen := func(batches bool) []event.Event {
		evs := make([]event.Event, 0, n)
		rec := uint32(0)
		for i := 0; len(evs) < n; i++ {
			at := t0.Add(time.Duration(i) * 250 * time.Millisecond)
			rec++
			id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
			file := fmt.Sprintf("ct-%d.json", i%50)
			if batches && i%10 == 0 {
				for s := range 3 {
					evs = append(evs, ctEvent(at, file, rec, id, "BatchGetSecretValue", fmt.Sprintf("prod/s%d", (i+s)%500)))
				}
				if i%20 == 0 {
					for s := range 3 {
						rec++
						evs = append(evs, ctEvent(at, file, rec, id+fmt.Sprint(s), "GetSecretValue", fmt.Sprintf("prod/s%d", (i+s)%500)))
					}
				}
				continue
			}
			action := "GetSecretValue"
			if i%3 == 0 {
				action = "DescribeSecret"
			}
			evs = append(evs, ctEvent(at, file, rec, id, action, fmt.Sprintf("prod/s%d", i%500)))
		}
		return evs
	}
	for _, c := range []struct {
		name    string
		batches bool
	}{{"no-batch", false}, {"batch", true}} {
		b.Run(c.name, func(b *testing.B) {
			evs := gen(c.batches)
			out := 0
			emit := func(*event.Event) { out++ }
			b.ReportAllocs()
			for b.Loop() {
				st := Format{}.NewStage()
				for i := range evs {
					st.Push(&evs[i], emit)
				}
				st.Flush(emit)
			}
			b.ReportMetric(float64(b.N)*float64(len(evs))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestStageRandom: on random streams (records delivered again in the same or another file,
// batch reads of repeated secrets, GetSecretValue records before, at and after them on
// half-second boundaries, other formats' events between), the stage drops what the code it
// replaced dropped, and counts the same: oldDropDuplicateRecords in input order and
// oldDropBatchEchoes on the merged slice are that code, kept here as the reference.
func TestStageRandom(t *testing.T) {
	t0 := time.Date(2026, 9, 11, 12, 0, 0, 0, time.UTC)
	principals := []string{"arn:aws:iam::111122223333:role/a", "arn:aws:iam::111122223333:role/b"}
	secrets := []string{"prod/a", "prod/b", "prod/c"}
	for seed := range uint64(400) {
		rng := rand.New(rand.NewPCG(seed, 7))
		nFiles := 1 + rng.IntN(4)
		names := make([]string, nFiles+1)
		for i := range names {
			names[i] = fmt.Sprintf("f%d.json", i)
		}
		names[nFiles] = "vault.log"
		perFile := make([][]event.Event, nFiles+1)
		recs := make([]uint32, nFiles+1)
		type record struct{ evs []event.Event }
		var made []record
		for i := range 10 + rng.IntN(60) {
			f := rng.IntN(nFiles)
			var evs []event.Event
			if len(made) > 0 && rng.IntN(4) == 0 { // a copy of an earlier record
				evs = slices.Clone(made[rng.IntN(len(made))].evs)
			} else {
				at := t0.Add(time.Duration(rng.IntN(24)) * 500 * time.Millisecond)
				p := principals[rng.IntN(len(principals))]
				id := fmt.Sprintf("id-%d", i)
				switch rng.IntN(4) {
				case 0, 1:
					evs = append(evs, ctEvent(at, "", 0, id, "GetSecretValue", secrets[rng.IntN(len(secrets))]))
				case 2:
					for range 1 + rng.IntN(3) {
						evs = append(evs, ctEvent(at, "", 0, id, "BatchGetSecretValue", secrets[rng.IntN(len(secrets))]))
					}
				default:
					evs = append(evs, ctEvent(at, "", 0, id, "DescribeSecret", secrets[rng.IntN(len(secrets))]))
				}
				for j := range evs {
					evs[j].Principal = p
				}
				made = append(made, record{evs})
			}
			recs[f]++
			for _, ev := range evs {
				ev.Pos = event.Pos{File: names[f], Line: int(recs[f])}
				ev.Record = recs[f]
				perFile[f] = append(perFile[f], ev)
			}
			if rng.IntN(3) == 0 {
				perFile[nFiles] = append(perFile[nFiles], event.Event{Time: t0.Add(time.Duration(rng.IntN(24)) * 500 * time.Millisecond),
					Kind: event.KindVault, Op: event.OpRead, Action: "read", Path: fmt.Sprint("kv/", i), Pos: event.Pos{File: names[nFiles]}})
			}
		}
		statsOf := func() []sources.FileStats {
			files := make([]sources.FileStats, len(names))
			for i, n := range names {
				files[i] = sources.FileStats{File: n, Events: len(perFile[i]), Parsed: int(recs[i]), Lines: int(recs[i])}
			}
			return files
		}
		merge := func(perFile [][]event.Event) []event.Event {
			var all []event.Event
			for _, evs := range perFile {
				all = append(all, evs...)
			}
			sources.SortEvents(all)
			return all
		}
		// the reference: as Load did
		refFiles := statsOf()
		ref := make([][]event.Event, len(perFile))
		for i := range perFile {
			ref[i] = slices.Clone(perFile[i])
		}
		ptrs := make([]*sources.FileStats, nFiles)
		for i := range ptrs {
			ptrs[i] = &refFiles[i]
		}
		oldDropDuplicateRecords(ref[:nFiles], ptrs)
		want := oldDropBatchEchoes(merge(ref), refFiles)
		// the stage, on the stream
		gotFiles := statsOf()
		got := runStage(Format{}.NewStage(), merge(perFile), gotFiles)
		if !reflect.DeepEqual(want, got) || !reflect.DeepEqual(refFiles, gotFiles) {
			t.Fatalf("seed %d: the stage differs\nwant %v\n got %v\nstatistics\nwant %+v\n got %+v", seed, brief(want), brief(got), refFiles, gotFiles)
		}
		// and Load's own path (Combine's dedup, Finish) is the same code
		loadFiles := statsOf()
		lp := make([]*sources.FileStats, nFiles)
		for i := range lp {
			lp[i] = &loadFiles[i]
		}
		viaLoad := make([][]event.Event, len(perFile))
		for i := range perFile {
			viaLoad[i] = slices.Clone(perFile[i])
		}
		dropDuplicateRecords(viaLoad[:nFiles], lp)
		if l := dropBatchEchoes(merge(viaLoad), loadFiles); !reflect.DeepEqual(want, l) || !reflect.DeepEqual(refFiles, loadFiles) {
			t.Fatalf("seed %d: Load's path differs\nwant %v\n got %v", seed, brief(want), brief(l))
		}
	}
}

func brief(evs []event.Event) []string {
	var s []string
	for _, ev := range evs {
		s = append(s, fmt.Sprintf("%s %s#%d %s %s %s", ev.Time.Format("05.0"), ev.Pos.File, ev.Record, ev.ID, ev.Action, ev.Resource+ev.Path))
	}
	return s
}

// oldDropDuplicateRecords is dropDuplicateRecords as it was before the stage (with the record
// keys taken from the events).
func oldDropDuplicateRecords(perFile [][]event.Event, files []*sources.FileStats) {
	type ref struct {
		file int
		rec  uint32
	}
	seen := map[string]ref{}
	for i := range perFile {
		kept := perFile[i][:0]
		dropped := uint32(0)
		for _, ev := range perFile[i] {
			if ev.ID == "" {
				kept = append(kept, ev)
				continue
			}
			r := ref{i, ev.Record}
			if first, ok := seen[ev.ID]; ok && first != r {
				st := files[i]
				st.Events--
				if dropped != ev.Record {
					dropped = ev.Record
					st.Duplicates++
					st.Parsed--
					st.Skip("duplicate")
				}
				continue
			} else if !ok {
				seen[ev.ID] = r
			}
			kept = append(kept, ev)
		}
		perFile[i] = kept
	}
}

// oldDropBatchEchoes is dropBatchEchoes as it was before the stage.
func oldDropBatchEchoes(evs []event.Event, files []sources.FileStats) []event.Event {
	gets := map[echoKey][]time.Time{}
	for i := range evs {
		if ev := &evs[i]; isGet(ev) {
			gets[echoKeyOf(ev)] = append(gets[echoKeyOf(ev)], ev.Time)
		}
	}
	near := func(ts []time.Time, t time.Time) bool {
		i, _ := slices.BinarySearchFunc(ts, t.Add(-batchEchoWindow), func(a, b time.Time) int { return a.Compare(b) })
		return i < len(ts) && !ts[i].After(t.Add(batchEchoWindow))
	}
	fileIdx := map[string]int{}
	for i := range files {
		fileIdx[files[i].File] = i
	}
	lastExpanded := map[echoKey]time.Time{}
	var kept []event.Event
	for _, ev := range evs {
		if isBatch(&ev) {
			k := echoKeyOf(&ev)
			last, seen := lastExpanded[k]
			if near(gets[k], ev.Time) || (seen && ev.Time.Sub(last) <= batchEchoWindow) {
				if i, ok := fileIdx[ev.Pos.File]; ok {
					files[i].BatchEchoes++
					files[i].Events--
				}
				continue
			}
			lastExpanded[k] = ev.Time
		}
		kept = append(kept, ev)
	}
	return kept
}

// TestRecordIdentity: every path that makes CloudTrail events gives each its record's eventID
// and number, shared by a batch read's events; the number, not the position, tells two records
// apart: two {"Records":[...]} lines number their records 1, 2 each, and the second line's
// first record, a copy of the first line's, is dropped.
func TestRecordIdentity(t *testing.T) {
	t0 := time.Date(2026, 9, 11, 12, 0, 0, 0, time.UTC)
	get := testutil.CTRecord("g1", t0, "GetSecretValue", `{"secretId":"prod/a"}`, "")
	batch := testutil.CTRecord("b1", t0.Add(5*time.Second), "BatchGetSecretValue", `{"secretIdList":["prod/x","prod/y"]}`, "")
	other := testutil.CTRecord("d1", t0.Add(9*time.Second), "DescribeSecret", `{"secretId":"prod/z"}`, "")
	var raw [][]byte
	for _, r := range []map[string]any{get, batch} {
		b, _ := json.Marshal(r)
		raw = append(raw, b)
	}
	l := LoadRecords([]RecordStream{{Name: "lookup-events:eu-west-1", Records: raw}})
	var got []string
	for _, ev := range l.Events {
		got = append(got, fmt.Sprintf("%s#%d %s", ev.ID, ev.Record, ev.Resource))
	}
	if w := "g1#1 prod/a b1#2 prod/x b1#2 prod/y"; strings.Join(got, " ") != w {
		t.Errorf("lookup-events: %s, want %s", strings.Join(got, " "), w)
	}

	dir := t.TempDir()
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(map[string]any{"Records": []any{get, batch}})
	json.NewEncoder(&b).Encode(map[string]any{"Records": []any{get, other}})
	p := filepath.Join(dir, "two-documents.json")
	os.WriteFile(p, b.Bytes(), 0o644)
	load, stream := loadBoth(t, p)
	sameLoads(t, load, stream)
	got = got[:0]
	for _, ev := range stream.Events {
		got = append(got, fmt.Sprintf("%s#%d@%d", ev.ID, ev.Record, ev.Pos.Line))
	}
	if w := "g1#1@1 b1#2@2 b1#2@2 d1#4@2"; strings.Join(got, " ") != w || stream.Files[0].Duplicates != 1 {
		t.Errorf("two documents: %s (%d duplicates), want %s and 1", strings.Join(got, " "), stream.Files[0].Duplicates, w)
	}
}

// TestStageBurst: the events held behind a batch read leave in order once the stream is a
// second past it, and the buffer a burst grew is let go.
func TestStageBurst(t *testing.T) {
	t0 := time.Date(2026, 9, 11, 12, 0, 0, 0, time.UTC)
	st := newStage(true)
	var got []int
	emit := func(ev *event.Event) { got = append(got, ev.Pos.Line) }
	b := ctEvent(t0, "ct.json", 1, "b1", "BatchGetSecretValue", "prod/a")
	b.Pos.Line = 0
	st.Push(&b, emit)
	for i := 1; i <= 10_000; i++ {
		ev := event.Event{Time: t0.Add(500 * time.Millisecond), Kind: event.KindVault, Pos: event.Pos{File: "vault.log", Line: i}}
		st.Push(&ev, emit)
	}
	if len(got) != 0 || st.echo.held.n != 10_001 {
		t.Fatalf("%d emitted, %d held before the second had passed; want 0, 10001", len(got), st.echo.held.n)
	}
	last := event.Event{Time: t0.Add(1001 * time.Millisecond), Kind: event.KindVault, Pos: event.Pos{File: "vault.log", Line: 10_001}}
	st.Push(&last, emit)
	st.Flush(emit)
	if len(got) != 10_002 || !slices.IsSorted(got) || st.echo.held.n != 0 || len(st.echo.held.buf) != 0 {
		t.Errorf("%d emitted (sorted: %v), %d held, buffer of %d; want 10002, sorted, 0, 0", len(got), slices.IsSorted(got), st.echo.held.n, len(st.echo.held.buf))
	}
}

// TestStreamSameAsLoad: sources.Stream, with this format's stage, gives Load's events and
// statistics on a generated organisation tree (overlapping delivery files, records delivered
// twice and late, batch reads and their echoes) and on the hand-made files of
// TestStageMatchesLoad.
func TestStreamSameAsLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := ctgen.Write(dir, 8<<20, ctgen.Options{DuplicateShare: 0.03, LateShare: 0.05, Accounts: 2, Regions: []string{"eu-west-1", "us-east-1"}}); err != nil {
		t.Fatal(err)
	}
	ins, errs := sources.Expand([]string{dir})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	opts := sources.LoadOptions{Formats: []sources.FileFormat{Format{}}}
	want, err := sources.Load(context.Background(), ins, opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []event.Event
	res, err := sources.Stream(context.Background(), ins, opts, func(evs []event.Event) error {
		got = append(got, evs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res.Events = got
	dups := 0
	for i := range res.Files {
		dups += res.Files[i].Duplicates
		if res.Files[i].Late != 0 {
			t.Errorf("%s: %d late events", res.Files[i].File, res.Files[i].Late)
		}
	}
	if dups == 0 {
		t.Fatal("no duplicates in the tree")
	}
	sameLoads(t, want, res)
}

// TestStageOutOfOrder: an event sources.Stream gives out of order (later than its reorder
// bound, counted in its file's Late) is handed on in the order it came, and nothing is lost:
// every event pushed is emitted or counted as a duplicate or an echo.
func TestStageOutOfOrder(t *testing.T) {
	t0 := time.Date(2026, 9, 11, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	st := newStage(true)
	emitted, pushed := 0, 0
	emit := func(*event.Event) { emitted++ }
	for i := range 20_000 {
		at := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if rng.IntN(50) == 0 {
			at = at.Add(-time.Duration(rng.IntN(3600)) * time.Second) // late
		}
		action := [...]string{"GetSecretValue", "BatchGetSecretValue", "DescribeSecret"}[rng.IntN(3)]
		ev := ctEvent(at, fmt.Sprintf("f%d.json", rng.IntN(3)), uint32(i+1), fmt.Sprint("id-", rng.IntN(15000)), action, fmt.Sprint("prod/", rng.IntN(5)))
		st.Push(&ev, emit)
		pushed++
	}
	st.Flush(emit)
	files := []sources.FileStats{{File: "f0.json"}, {File: "f1.json"}, {File: "f2.json"}}
	st.Apply(files)
	dropped := 0
	for _, f := range files {
		dropped += -f.Events // Events started at 0: minus what was dropped
	}
	if emitted+dropped != pushed || dropped == 0 {
		t.Errorf("%d pushed, %d emitted, %d dropped", pushed, emitted, dropped)
	}
}

// TestStreamDeliveredLateSameEveryRun: a record delivered in a file named more than
// sources.StartSlack after it happened is merged at the file's start, whether that file's
// reader gives its events before the merge reaches them or long after: the stream is the same
// on every run, and the record is counted late, never dropped.
func TestStreamDeliveredLateSameEveryRun(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 9, 11, 23, 0, 0, 0, time.UTC)
	record := func(at time.Duration, id string) string {
		return fmt.Sprintf(`{"eventVersion":"1.08","eventTime":%q,"eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue",`+
			`"awsRegion":"eu-west-1","sourceIPAddress":"10.0.0.7","userAgent":"aws-sdk-go-v2","eventID":%q,"eventType":"AwsApiCall",`+
			`"recipientAccountId":"111122223333","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/app/s",`+
			`"accountId":"111122223333","accessKeyId":"ASIAEXAMPLE"},"requestParameters":{"secretId":"db/%s"}}`,
			t0.Add(at).Format(time.RFC3339), id, id)
	}
	write := func(delivered time.Duration, unique string, recs ...string) string {
		name := fmt.Sprintf("111122223333_CloudTrail_eu-west-1_%s_%s.json", t0.Add(delivered).Format("20060102T1504Z"), unique)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(`{"Records":[`+strings.Join(recs, ",")+`]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var a []string
	for m := range 60 {
		a = append(a, record(time.Duration(m)*time.Minute+time.Second, fmt.Sprintf("a%02d", m)))
	}
	var paths []string
	for d := 10; d <= 60; d += 10 { // a file every ten minutes, with the ten minutes before it
		paths = append(paths, write(time.Duration(d)*time.Minute, "AbCdEfGh12345678", a[d-10:d]...))
	}
	// named 23:50, so its start is 23:20; its first record is from 23:10
	paths = append(paths, write(50*time.Minute, "ZyXwVuTs87654321", record(10*time.Minute, "late"), record(48*time.Minute, "b48")))
	run := func(slow int) ([]string, []int) {
		var ins []sources.Input
		for i, p := range paths {
			ins = append(ins, sources.Input{Name: p, Open: func() (io.ReadCloser, error) {
				if i == slow {
					time.Sleep(50 * time.Millisecond) // the merge gets to this file's start before it gives anything
				}
				return os.Open(p)
			}})
		}
		var ids []string
		res, err := sources.Stream(context.Background(), ins, sources.LoadOptions{Formats: []sources.FileFormat{Format{}}}, func(evs []event.Event) error {
			for _, ev := range evs {
				ids = append(ids, ev.Resource)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var late []int
		for _, f := range res.Files {
			late = append(late, f.Late)
		}
		return ids, late
	}
	want, wantLate := run(-1)
	if len(want) != 62 {
		t.Fatalf("%d events, want 62", len(want))
	}
	if !slices.Equal(wantLate, []int{0, 0, 0, 0, 0, 0, 1}) {
		t.Errorf("late = %v, want only the last file's record from 23:10, taken at 23:20", wantLate)
	}
	if i := slices.IndexFunc(want, func(s string) bool { return strings.HasSuffix(s, "/late") }); i < 0 || !strings.HasSuffix(want[i-1], "a19") || !strings.HasSuffix(want[i+1], "a20") {
		t.Errorf("the late record is not at its file's start (23:20): %v", want)
	}
	for slow := range paths {
		for range 3 {
			if got, late := run(slow); !slices.Equal(got, want) || !slices.Equal(late, wantLate) {
				t.Fatalf("file %d read slowly: stream differs\n got %v late %v\nwant %v late %v", slow, got, late, want, wantLate)
			}
		}
	}
}
