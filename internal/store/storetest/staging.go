package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/registry"
)

// testReportStaging checks that staged reports (written, not compacted)
// read exactly as compacted ones, and the compaction itself: chunks, ids,
// the latest-value rule, concurrent compactions, device deletion and
// retention.
func testReportStaging(t *testing.T, rs registry.Store) {
	s, ok := rs.(devicedata.Store)
	if !ok {
		t.Fatalf("%T does not implement devicedata.Store", rs)
	}
	seed(t, rs)
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s devicedata.Store)
	}{
		{"LatestValues", testStagedLatest},
		{"History", testStagedHistory},
		{"CursorAcrossCompaction", testCursorAcrossCompaction},
		{"Chunks", testCompactChunks},
		{"ConcurrentCompactions", testConcurrentCompactions},
		{"Retention", testStagedRetention},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compactAll(t, s) // each test starts with nothing staged
			tc.fn(t, s)
		})
	}
	t.Run("DeleteDevice", func(t *testing.T) { testStagedDeleteDevice(t, rs, s) })
}

// report builds a report of device at minute from id, value pairs.
func report(device string, minute int, vals ...string) devicedata.Report {
	r := devicedata.Report{ProductID: "PRODUCT01", DeviceName: device, At: at(minute)}
	for i := 0; i < len(vals); i += 2 {
		r.Values = append(r.Values, devicedata.PropertyValue{ID: vals[i], Value: json.RawMessage(vals[i+1])})
	}
	return r
}

// compactAll compacts until nothing is staged and returns how many reports
// moved.
func compactAll(t *testing.T, s devicedata.Store) int {
	t.Helper()
	total := 0
	for {
		n, err := s.CompactReports(context.Background(), 1000)
		mustNil(t, err)
		total += n
		if n < 1000 {
			return total
		}
	}
}

// latest renders a device's latest values as "id=value@minute" in id order.
func latest(t *testing.T, s devicedata.Store, device string) []string {
	t.Helper()
	vals, err := s.LatestValues(context.Background(), "PRODUCT01", device)
	mustNil(t, err)
	out := []string{}
	for _, v := range vals {
		out = append(out, fmt.Sprintf("%s=%s@%v", v.ID, v.Value, v.UpdatedAt.Sub(at(0)).Minutes()))
	}
	return out
}

// history renders a property's whole history as "seq:value@minute".
func history(t *testing.T, s devicedata.Store, device, id string) []string {
	t.Helper()
	pts, err := s.PropertyHistory(context.Background(), devicedata.HistoryQuery{ProductID: "PRODUCT01",
		DeviceName: device, PropertyID: id, From: at(-1000), To: at(1000)})
	mustNil(t, err)
	return points(pts)
}

func points(pts []devicedata.HistoryPoint) []string {
	out := []string{}
	for _, p := range pts {
		out = append(out, fmt.Sprintf("%d:%s@%v", p.Seq, p.Value, p.At.Sub(at(0)).Minutes()))
	}
	return out
}

func testStagedLatest(t *testing.T, s devicedata.Store) {
	ctx := context.Background()
	tests := []struct {
		name    string
		stored  []devicedata.Report // written and compacted first
		batches [][]devicedata.Report
		want    []string
	}{
		{
			name:    "staged only",
			batches: [][]devicedata.Report{{report("l1", 2, "a", "1", "b", `"x"`), report("l1", 3, "c", `{"k":[1, 2]}`)}},
			want:    []string{`a=1@2`, `b="x"@2`, `c={"k":[1, 2]}@3`},
		},
		{
			name: "out of order: the newest wins",
			batches: [][]devicedata.Report{
				{report("l2", 5, "a", "5"), report("l2", 1, "a", "1", "b", "1")},
				{report("l2", 3, "a", "3", "b", "3")},
			},
			want: []string{`a=5@5`, `b=3@3`},
		},
		{
			name:    "same time: the later report wins",
			batches: [][]devicedata.Report{{report("l3", 4, "a", "1")}, {report("l3", 4, "a", "2")}, {report("l3", 4, "b", "0")}},
			want:    []string{`a=2@4`, `b=0@4`},
		},
		{
			name:    "an older staged value does not replace a stored one",
			stored:  []devicedata.Report{report("l4", 5, "a", "5", "b", "5")},
			batches: [][]devicedata.Report{{report("l4", 4, "a", "4", "c", "4")}},
			want:    []string{`a=5@5`, `b=5@5`, `c=4@4`},
		},
		{
			name:    "a staged value at the stored time or later replaces it",
			stored:  []devicedata.Report{report("l5", 5, "a", "5", "b", "5")},
			batches: [][]devicedata.Report{{report("l5", 5, "a", "6"), report("l5", 7, "b", "7")}},
			want:    []string{`a=6@5`, `b=7@7`},
		},
		{
			name:    "other devices are apart",
			batches: [][]devicedata.Report{{report("l6", 1, "a", "1"), report("l6x", 2, "a", "2")}},
			want:    []string{`a=1@1`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			device := tc.batches[0][0].DeviceName
			if len(tc.stored) > 0 {
				mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: tc.stored}))
				compactAll(t, s)
			}
			for _, b := range tc.batches {
				mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: b}))
			}
			if got := latest(t, s, device); !slices.Equal(got, tc.want) {
				t.Errorf("staged: LatestValues = %v, want %v", got, tc.want)
			}
			compactAll(t, s)
			if got := latest(t, s, device); !slices.Equal(got, tc.want) {
				t.Errorf("compacted: LatestValues = %v, want %v", got, tc.want)
			}
		})
	}
}

func testStagedHistory(t *testing.T, s devicedata.Store) {
	ctx := context.Background()
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{
		report("h1", 3, "a", "3"), report("h1", 1, "a", "1", "b", "1"), report("h2", 2, "a", "9"),
	}}))
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{report("h1", 2, "a", `{"k": 2}`)}}))
	staged := map[string][]string{"a": history(t, s, "h1", "a"), "b": history(t, s, "h1", "b")}
	if len(staged["a"]) != 3 || len(staged["b"]) != 1 {
		t.Fatalf("staged history = %v, want 3 points of a and 1 of b", staged)
	}
	for i, want := range []string{"1@1", `{"k": 2}@2`, "3@3"} {
		if !strings.HasSuffix(staged["a"][i], ":"+want) {
			t.Errorf("staged history of a = %v, want values 1, {\"k\": 2}, 3 by time", staged["a"])
			break
		}
	}
	if n := compactAll(t, s); n != 4 {
		t.Errorf("compacted %d reports, want 4", n)
	}
	// Same points, same seqs: the rows kept their ids.
	for id, want := range staged {
		if got := history(t, s, "h1", id); !slices.Equal(got, want) {
			t.Errorf("compacted history of %s = %v, want %v", id, got, want)
		}
	}
	// New reports continue above the moved ids, although nothing is staged.
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{report("h1", 3, "a", "4")}}))
	pts, err := s.PropertyHistory(ctx, devicedata.HistoryQuery{ProductID: "PRODUCT01", DeviceName: "h1",
		PropertyID: "a", From: at(0), To: at(10)})
	mustNil(t, err)
	if len(pts) != 4 || pts[3].Seq <= pts[2].Seq || string(pts[3].Value) != "4" {
		t.Errorf("history after a new report = %v, want the new point last (same time, higher seq)", points(pts))
	}
}

func testCursorAcrossCompaction(t *testing.T, s devicedata.Store) {
	ctx := context.Background()
	var reps []devicedata.Report
	for i := range 12 {
		// Some reports share a time; one in three lacks the property.
		r := report("cur", i/2, "a", fmt.Sprint(i))
		if i%3 == 2 {
			r = report("cur", i/2, "other", "0")
		}
		reps = append(reps, r)
	}
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: reps[:6]}))
	// Half of the first reports are compacted before the listing starts.
	n, err := s.CompactReports(ctx, 3)
	mustNil(t, err)
	if n != 3 {
		t.Fatalf("CompactReports(3) = %d", n)
	}
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: reps[6:]}))
	want := history(t, s, "cur", "a")
	if len(want) != 8 {
		t.Fatalf("history = %v, want 8 points", want)
	}
	q := devicedata.HistoryQuery{ProductID: "PRODUCT01", DeviceName: "cur", PropertyID: "a", From: at(-1), To: at(100), Limit: 3}
	var got []string
	for page := 0; ; page++ {
		pts, err := s.PropertyHistory(ctx, q)
		mustNil(t, err)
		got = append(got, points(pts)...)
		if len(pts) < q.Limit {
			break
		}
		q.AfterTime, q.AfterSeq = pts[len(pts)-1].At, pts[len(pts)-1].Seq
		// Between pages, part of what is staged moves.
		if _, err := s.CompactReports(ctx, 2+page); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged across compactions = %v, want %v", got, want)
	}
}

func testCompactChunks(t *testing.T, s devicedata.Store) {
	ctx := context.Background()
	var reps []devicedata.Report
	for i := range 7 {
		reps = append(reps, report("chunk", i, "a", fmt.Sprint(i)))
	}
	reps = append(reps, report("chunk", 7)) // no values: not stored
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: reps}))
	want := history(t, s, "chunk", "a")
	var moved []int
	for {
		n, err := s.CompactReports(ctx, 3)
		mustNil(t, err)
		moved = append(moved, n)
		if got := history(t, s, "chunk", "a"); !slices.Equal(got, want) {
			t.Errorf("history after moving %v = %v, want %v", moved, got, want)
		}
		if n < 3 {
			break
		}
	}
	if !slices.Equal(moved, []int{3, 3, 1}) {
		t.Errorf("CompactReports(3) moved %v, want [3 3 1]", moved)
	}
	if n, err := s.CompactReports(ctx, 0); err != nil || n != 0 {
		t.Errorf("CompactReports(0) = %d, %v; want 0, nil", n, err)
	}
	if got := latest(t, s, "chunk"); !slices.Equal(got, []string{"a=6@6"}) {
		t.Errorf("LatestValues = %v, want a=6@6", got)
	}
}

// testConcurrentCompactions runs compactions concurrently with each other
// and with writes: every report is moved exactly once.
func testConcurrentCompactions(t *testing.T, s devicedata.Store) {
	ctx := context.Background()
	const writers, batches, perBatch, devices = 3, 20, 5, 4
	var writing, compactors sync.WaitGroup
	var mu sync.Mutex
	total := 0
	stop := make(chan struct{})
	for range 4 {
		compactors.Go(func() {
			if err := compactUntil(ctx, s, 7, stop, func(n int) {
				mu.Lock()
				total += n
				mu.Unlock()
			}); err != nil {
				t.Error(err)
			}
		})
	}
	for w := range writers {
		writing.Go(func() {
			for b := range batches {
				var reps []devicedata.Report
				for i := range perBatch {
					d := fmt.Sprintf("conc%d", (w+i)%devices)
					reps = append(reps, report(d, b, fmt.Sprintf("w%d", w), fmt.Sprint(b*perBatch+i)))
				}
				if err := s.WriteBatch(ctx, devicedata.Batch{Reports: reps}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writing.Wait()
	close(stop)
	compactors.Wait()
	total += compactAll(t, s)
	if want := writers * batches * perBatch; total != want {
		t.Errorf("compactions moved %d reports, want %d (each written once)", total, want)
	}
	seqs := map[string]bool{}
	for d := range devices {
		for w := range writers {
			for _, p := range history(t, s, fmt.Sprintf("conc%d", d), fmt.Sprintf("w%d", w)) {
				seq, _, _ := strings.Cut(p, ":")
				if seqs[seq] {
					t.Errorf("seq %s listed twice", seq)
				}
				seqs[seq] = true
			}
		}
	}
	if len(seqs) != writers*batches*perBatch {
		t.Errorf("history holds %d reports, want %d", len(seqs), writers*batches*perBatch)
	}
	// Each writer's property ends with its last batch's last value.
	for w := range writers {
		d := fmt.Sprintf("conc%d", (w+perBatch-1)%devices)
		want := fmt.Sprintf("w%d=%d@%d", w, batches*perBatch-1, batches-1)
		if got := latest(t, s, d); !slices.Contains(got, want) {
			t.Errorf("LatestValues of %s = %v, want it to hold %s", d, got, want)
		}
	}
}

func testStagedRetention(t *testing.T, s devicedata.Store) {
	ctx := context.Background()
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{
		report("ret", -300, "a", "1", "b", "1"), report("ret", -200, "a", "2"),
	}}))
	compactAll(t, s)
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{
		report("ret", -150, "a", "3", "c", "3"), report("ret", -100, "b", "4"), report("ret", 10, "a", "5"),
	}}))
	// Cut at -120: the two compacted reports and the oldest staged one go.
	n, err := s.DeleteHistoryBefore(ctx, at(-120))
	mustNil(t, err)
	if n != 3 {
		t.Errorf("DeleteHistoryBefore = %d, want 3 (2 compacted, 1 staged)", n)
	}
	for id, want := range map[string]int{"a": 1, "b": 1, "c": 0} {
		if got := history(t, s, "ret", id); len(got) != want {
			t.Errorf("history of %s after retention = %v, want %d points", id, got, want)
		}
	}
	// The pruned staged report's value still counts for the latest values.
	want := []string{"a=5@10", "b=4@-100", "c=3@-150"}
	if got := latest(t, s, "ret"); !slices.Equal(got, want) {
		t.Errorf("LatestValues after retention = %v, want %v", got, want)
	}
	if n := compactAll(t, s); n != 2 {
		t.Errorf("compacted %d reports after retention, want the 2 left", n)
	}
	if got := latest(t, s, "ret"); !slices.Equal(got, want) {
		t.Errorf("LatestValues after compaction = %v, want %v", got, want)
	}
}

// testStagedDeleteDevice deletes a device with compacted and staged
// reports: none of them survives, not even to a device of the same name.
func testStagedDeleteDevice(t *testing.T, rs registry.Store, s devicedata.Store) {
	ctx := context.Background()
	compactAll(t, s)
	mustNil(t, rs.CreateDevice(ctx, device("PRODUCT01", "gone", 0)))
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{report("gone", 1, "a", "1")}}))
	compactAll(t, s)
	mustNil(t, s.WriteBatch(ctx, devicedata.Batch{Reports: []devicedata.Report{
		report("gone", 2, "a", "2", "b", "2"), report("kept", 2, "a", "7"),
	}}))
	mustNil(t, rs.DeleteDevice(ctx, "PRODUCT01", "gone"))
	mustNil(t, rs.CreateDevice(ctx, device("PRODUCT01", "gone", 3)))
	check := func(when string) {
		t.Helper()
		if got := latest(t, s, "gone"); len(got) != 0 {
			t.Errorf("%s: LatestValues of the deleted device = %v", when, got)
		}
		if got := history(t, s, "gone", "a"); len(got) != 0 {
			t.Errorf("%s: history of the deleted device = %v", when, got)
		}
	}
	check("staged")
	if n := compactAll(t, s); n != 1 {
		t.Errorf("compacted %d reports, want only the other device's", n)
	}
	check("compacted")
	if got := latest(t, s, "kept"); !slices.Equal(got, []string{"a=7@2"}) {
		t.Errorf("LatestValues of the other device = %v", got)
	}
}

// WriteAndCompactOnNodes writes reports through every node (stores opened
// on one database, as Thingo nodes do) while every node compacts, then
// compacts what is left, and returns how many reports it wrote. The caller
// then checks in its database that report_history holds exactly that many
// rows and report_log none. The moved counts must add up to the same.
func WriteAndCompactOnNodes(t *testing.T, nodes []devicedata.Store) int {
	t.Helper()
	ctx := context.Background()
	const batches, perBatch = 25, 8
	var writing, compacting sync.WaitGroup
	var mu sync.Mutex
	moved := 0
	stop := make(chan struct{})
	for i, s := range nodes {
		writing.Go(func() {
			for b := range batches {
				var reps []devicedata.Report
				for j := range perBatch {
					reps = append(reps, report(fmt.Sprintf("node%d-%d", i, j%3), b, "v", fmt.Sprint(j)))
				}
				if err := s.WriteBatch(ctx, devicedata.Batch{Reports: reps}); err != nil {
					t.Errorf("node %d: %v", i, err)
					return
				}
			}
		})
		compacting.Go(func() {
			if err := compactUntil(ctx, s, 11, stop, func(n int) {
				mu.Lock()
				moved += n
				mu.Unlock()
			}); err != nil {
				t.Errorf("node %d: %v", i, err)
			}
		})
	}
	writing.Wait()
	close(stop)
	compacting.Wait()
	for _, s := range nodes {
		moved += compactAll(t, s)
	}
	written := len(nodes) * batches * perBatch
	if moved != written {
		t.Errorf("compactions moved %d reports, want %d", moved, written)
	}
	return written
}

// compactUntil compacts in chunks of limit, passing each chunk's count to
// moved, until stop is closed and nothing is left to move.
func compactUntil(ctx context.Context, s devicedata.Store, limit int, stop <-chan struct{}, moved func(int)) error {
	for {
		n, err := s.CompactReports(ctx, limit)
		if err != nil {
			return err
		}
		moved(n)
		if n > 0 {
			continue
		}
		select {
		case <-stop:
			return nil
		case <-time.After(time.Millisecond):
		}
	}
}
