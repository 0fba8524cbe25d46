package devicelog

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

type memStore struct {
	mu      sync.Mutex
	entries []Entry
	lastQ   Query
	before  time.Time
}

func (m *memStore) AppendDeviceLogs(_ context.Context, es []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, es...)
	return nil
}

func (m *memStore) ListDeviceLogs(_ context.Context, q Query) ([]Entry, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastQ = q
	return m.entries, int64(len(m.entries)), nil
}

func (m *memStore) DeleteDeviceLogsBefore(_ context.Context, t time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.before = t
	return 0, nil
}

func TestAppend(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 123_456_789, time.UTC)
	tests := []struct {
		name  string
		lines []protocol.LogLine
		want  int
	}{
		{"none", nil, 0},
		{"two", []protocol.LogLine{protocol.ParseLogLine("ERR|2026-11-25 09:59:59|a.c|f(3): boom"), {Message: "plain"}}, 2},
		{"truncated", make([]protocol.LogLine, MaxLinesPerUpload+5), MaxLinesPerUpload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &memStore{}
			s := New(st, Config{Now: func() time.Time { return now }})
			if err := s.Append(context.Background(), "PID0000001", "dev", tc.lines); err != nil {
				t.Fatal(err)
			}
			if len(st.entries) != tc.want {
				t.Fatalf("stored %d, want %d", len(st.entries), tc.want)
			}
			if tc.name == "two" {
				e := st.entries[0]
				if e.Level != "ERR" || e.DeviceTime != "2026-11-25 09:59:59" || e.Line != "ERR|2026-11-25 09:59:59|a.c|f(3): boom" ||
					!e.Received.Equal(now.Truncate(time.Millisecond)) || e.ProductID != "PID0000001" || e.DeviceName != "dev" {
					t.Errorf("entry = %+v", e)
				}
				if st.entries[1].Line != "plain" || st.entries[1].Level != "" {
					t.Errorf("plain entry = %+v", st.entries[1])
				}
			}
		})
	}
}

func TestList(t *testing.T) {
	tests := []struct {
		name      string
		q         Query
		wantErr   bool
		wantLimit int
	}{
		{"default limit", Query{ProductID: "P", DeviceName: "d"}, false, DefaultListLimit},
		{"capped", Query{ProductID: "P", DeviceName: "d", Limit: MaxListLimit + 1}, false, MaxListLimit},
		{"kept", Query{ProductID: "P", DeviceName: "d", Limit: 5}, false, 5},
		{"no device", Query{ProductID: "P"}, true, 0},
		{"negative offset", Query{ProductID: "P", DeviceName: "d", Offset: -1}, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &memStore{}
			_, _, err := New(st, Config{}).List(context.Background(), tc.q)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidQuery) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || st.lastQ.Limit != tc.wantLimit {
				t.Errorf("limit = %d, want %d (%v)", st.lastQ.Limit, tc.wantLimit, err)
			}
		})
	}
}

func TestPruneAndRun(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	st := &memStore{}
	s := New(st, Config{Retention: 48 * time.Hour, Now: func() time.Time { return now }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.mu.Lock()
		b := st.before
		st.mu.Unlock()
		if !b.IsZero() {
			if want := now.Add(-48 * time.Hour); !b.Equal(want) {
				t.Errorf("pruned before %v, want %v", b, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not prune")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
