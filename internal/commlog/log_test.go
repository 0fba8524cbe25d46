package commlog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestLog(capacity, maxPayload int) *Log {
	return New(Options{Capacity: capacity, MaxPayload: maxPayload, Now: func() time.Time { return t0 }})
}

func up(dn, payload string) Entry {
	return Entry{ProductID: "P1", DeviceName: dn, Direction: Up, Topic: "$thing/up/property/P1/" + dn, Payload: payload}
}

func down(dn, payload string) Entry {
	return Entry{ProductID: "P1", DeviceName: dn, Direction: Down, Topic: "$thing/down/property/P1/" + dn, Payload: payload, OK: true, Result: "delivered"}
}

func TestRecordPayload(t *testing.T) {
	tests := []struct {
		name      string
		payload   string
		max       int
		want      string
		truncated bool
		method    string
		token     string
	}{
		{name: "short", payload: `{"method":"report","clientToken":"a1"}`, max: 100,
			want: `{"method":"report","clientToken":"a1"}`, method: "report", token: "a1"},
		{name: "cut keeps fields read from the whole", payload: `{"params":{"x":1},"method":"report","clientToken":"a1"}`, max: 10,
			want: `{"params":`, truncated: true, method: "report", token: "a1"},
		{name: "cut on rune boundary", payload: "ééé", max: 3, want: "é", truncated: true},
		{name: "binary", payload: "\x00\x01\x02", max: 2, want: "\x00\x01", truncated: true},
		{name: "not json", payload: "hello", max: 100, want: "hello"},
		{name: "exactly max", payload: "abcd", max: 4, want: "abcd"},
	}
	for _, tt := range tests {
		for _, bytesForm := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/bytes=%v", tt.name, bytesForm), func(t *testing.T) {
				l := newTestLog(10, tt.max)
				if bytesForm {
					l.RecordBytes(up("d", "ignored"), []byte(tt.payload))
				} else {
					l.Record(up("d", tt.payload))
				}
				got := l.Recent("P1", "d", 10)
				if len(got) != 1 {
					t.Fatalf("Recent: %d entries", len(got))
				}
				e := got[0]
				if e.Payload != tt.want || e.Truncated != tt.truncated {
					t.Errorf("payload %q truncated=%v, want %q %v", e.Payload, e.Truncated, tt.want, tt.truncated)
				}
				if e.Method != tt.method || e.ClientToken != tt.token {
					t.Errorf("method %q token %q, want %q %q", e.Method, e.ClientToken, tt.method, tt.token)
				}
				if e.Seq != 1 || !e.Time.Equal(t0) || !e.OK || e.Result != "" {
					t.Errorf("entry %+v: want seq 1, time set, OK pending", e)
				}
			})
		}
	}
}

func TestCorrelation(t *testing.T) {
	const report = `{"method":"report","clientToken":"t1","params":{"brightness":50}}`
	tests := []struct {
		name       string
		entries    []Entry
		wantSeq    uint64 // the settled entry
		wantOK     bool
		wantResult string
	}{
		{name: "success",
			entries: []Entry{up("d", report), down("d", `{"method":"report_reply","clientToken":"t1","code":0,"status":"success"}`)},
			wantSeq: 1, wantOK: true, wantResult: "code 0 success"},
		{name: "invalid",
			entries: []Entry{up("d", report), down("d", `{"method":"report_reply","clientToken":"t1","code":406,"status":"brightness: 500 out of range"}`)},
			wantSeq: 1, wantOK: false, wantResult: "code 406 invalid value: brightness: 500 out of range"},
		{name: "unknown code",
			entries: []Entry{up("d", report), down("d", `{"method":"report_reply","clientToken":"t1","code":12,"status":"x"}`)},
			wantSeq: 1, wantOK: false, wantResult: "code 12: x"},
		{name: "latest unanswered of the same token",
			entries: []Entry{up("d", report), down("d", `{"method":"report_reply","clientToken":"t1","code":0}`),
				up("d", report), down("d", `{"method":"report_reply","clientToken":"t1","code":403,"status":"no"}`)},
			wantSeq: 3, wantOK: false, wantResult: "code 403 unknown method or id: no"},
		{name: "other device not settled",
			entries: []Entry{up("d", report), down("e", `{"method":"report_reply","clientToken":"t1","code":406}`)},
			wantSeq: 1, wantOK: true, wantResult: ""},
		{name: "other token not settled",
			entries: []Entry{up("d", report), down("d", `{"method":"report_reply","clientToken":"t2","code":406}`)},
			wantSeq: 1, wantOK: true, wantResult: ""},
		{name: "control answered by device",
			entries: []Entry{down("d", `{"method":"control","clientToken":"c1","params":{"power_switch":1}}`),
				up("d", `{"method":"control_reply","clientToken":"c1","code":0,"status":""}`)},
			wantSeq: 1, wantOK: true, wantResult: "delivered, replied code 0 success"},
		{name: "control answered with error, python form without method",
			entries: []Entry{down("d", `{"method":"control","clientToken":"c1","params":{"power_switch":1}}`),
				up("d", `{"code":406,"clientToken":"c1","status":"bad"}`)},
			wantSeq: 1, wantOK: false, wantResult: "delivered, replied code 406 invalid value: bad"},
		{name: "device reply with error",
			entries: []Entry{up("d", `{"method":"control_reply","clientToken":"t1","code":503}`)},
			wantSeq: 1, wantOK: false, wantResult: ""},
		{name: "reply not itself settled",
			entries: []Entry{down("d", `{"method":"report_reply","clientToken":"t1","code":0}`), up("d", `{"method":"control_reply","clientToken":"t1","code":0}`)},
			wantSeq: 1, wantOK: true, wantResult: "delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLog(100, 1000)
			for _, e := range tt.entries {
				l.Record(e)
			}
			all := l.Recent("", "", 100)
			got := all[tt.wantSeq-1]
			if got.Seq != tt.wantSeq || got.OK != tt.wantOK || got.Result != tt.wantResult {
				t.Errorf("entry %d: OK=%v Result=%q, want %v %q", got.Seq, got.OK, got.Result, tt.wantOK, tt.wantResult)
			}
		})
	}
}

func TestRingWrapAndRecent(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		records  []string // device names, in order
		device   string
		n        int
		wantSeqs []uint64
	}{
		{name: "all kept", capacity: 10, records: []string{"a", "b", "a"}, device: "a", n: 10, wantSeqs: []uint64{1, 3}},
		{name: "limit keeps latest", capacity: 10, records: []string{"a", "a", "a", "a"}, device: "a", n: 2, wantSeqs: []uint64{3, 4}},
		{name: "wrap forgets oldest", capacity: 3, records: []string{"a", "b", "a", "b", "a"}, device: "a", n: 10, wantSeqs: []uint64{3, 5}},
		{name: "wrap forgets device", capacity: 2, records: []string{"a", "b", "b"}, device: "a", n: 10, wantSeqs: nil},
		{name: "every device", capacity: 3, records: []string{"a", "b", "a", "b", "c"}, device: "", n: 10, wantSeqs: []uint64{3, 4, 5}},
		{name: "every device, limit", capacity: 10, records: []string{"a", "b", "c"}, device: "", n: 2, wantSeqs: []uint64{2, 3}},
		{name: "unknown device", capacity: 10, records: []string{"a"}, device: "z", n: 10, wantSeqs: nil},
		{name: "n zero", capacity: 10, records: []string{"a"}, device: "a", n: 0, wantSeqs: nil},
		{name: "long run", capacity: 5, records: strings.Split(strings.Repeat("a,b,", 100)+"a", ","), device: "b", n: 10, wantSeqs: []uint64{198, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLog(tt.capacity, 100)
			for _, dn := range tt.records {
				l.Record(up(dn, "x"))
			}
			pid := "P1"
			if tt.device == "" {
				pid = ""
			}
			var got []uint64
			for _, e := range l.Recent(pid, tt.device, tt.n) {
				got = append(got, e.Seq)
				if tt.device != "" && e.DeviceName != tt.device {
					t.Errorf("entry %d of device %q", e.Seq, e.DeviceName)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantSeqs) {
				t.Errorf("seqs %v, want %v", got, tt.wantSeqs)
			}
			// The index never outgrows the ring.
			l.mu.Lock()
			total := 0
			for _, list := range l.devices {
				total += list.len()
			}
			l.mu.Unlock()
			if total > tt.capacity {
				t.Errorf("index holds %d entries, capacity %d", total, tt.capacity)
			}
		})
	}
}

func TestWatch(t *testing.T) {
	l := newTestLog(100, 100)
	ctx, cancel := context.WithCancel(context.Background())
	dev := l.Watch(ctx, "P1", "d")
	all := l.Watch(ctx, "", "")

	l.Record(up("d", `{"method":"report","clientToken":"t1"}`))
	l.Record(up("other", `{"method":"report","clientToken":"t9"}`))
	l.Record(down("d", `{"method":"report_reply","clientToken":"t1","code":0}`))

	type want struct {
		seq    uint64
		dir    Direction
		result string
	}
	tests := []struct {
		name string
		ch   <-chan Entry
		want []want
	}{
		{name: "device", ch: dev, want: []want{{1, Up, ""}, {3, Down, "delivered"}, {1, Up, "code 0 success"}}},
		{name: "all", ch: all, want: []want{{1, Up, ""}, {2, Up, ""}, {3, Down, "delivered"}, {1, Up, "code 0 success"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, w := range tt.want {
				e := <-tt.ch
				if e.Seq != w.seq || e.Direction != w.dir || e.Result != w.result {
					t.Errorf("entry %d: seq %d %s %q, want %d %s %q", i, e.Seq, e.Direction, e.Result, w.seq, w.dir, w.result)
				}
			}
		})
	}
	cancel()
	for _, ch := range []<-chan Entry{dev, all} {
		for range ch { // drains, then ends when closed
		}
	}
	l.Record(up("d", "after")) // no watcher left: must not block or panic
	l.mu.Lock()
	left := len(l.watchers)
	l.mu.Unlock()
	if left != 0 {
		t.Errorf("%d watcher sets left after cancel", left)
	}
}

func TestSlowWatcher(t *testing.T) {
	l := newTestLog(1000, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := l.Watch(ctx, "P1", "d")
	const total = WatchBuffer + 10
	for range total {
		l.Record(up("d", "x")) // never blocks although nobody reads
	}
	for i := range WatchBuffer {
		if e := <-ch; e.Seq != uint64(i+1) {
			t.Fatalf("entry %d: seq %d", i, e.Seq)
		}
	}
	l.Record(up("d", "caught up"))
	notice := <-ch
	if notice.Direction != Event || notice.Seq != 0 || notice.Result != "10 entries skipped (slow viewer)" || notice.DeviceName != "d" {
		t.Errorf("notice %+v", notice)
	}
	if e := <-ch; e.Payload != "caught up" || e.Seq != total+1 {
		t.Errorf("after notice: %+v", e)
	}
}

func TestConcurrentUse(t *testing.T) {
	l := newTestLog(64, 100)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			ch := l.Watch(ctx, "P1", fmt.Sprint("d", w))
			for range ch {
			}
		})
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Go(func() {
			dn := fmt.Sprint("d", w)
			for i := range 500 {
				tok := fmt.Sprint(i)
				l.Record(up(dn, `{"method":"report","clientToken":"`+tok+`"}`))
				l.Record(down(dn, `{"method":"report_reply","clientToken":"`+tok+`","code":0}`))
				_ = l.Recent("P1", dn, 10)
			}
		})
	}
	writers.Wait()
	cancel()
	wg.Wait()
	if got := len(l.Recent("", "", 1000)); got != 64 {
		t.Errorf("kept %d entries, want 64", got)
	}
}
