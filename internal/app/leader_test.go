package app

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/bus"
)

// leaders counts the nodes running the led work at once.
type leaders struct {
	mu      sync.Mutex
	running map[string]bool
	max     int
	ran     map[string]int
}

func (l *leaders) work(node string) func(context.Context) {
	return func(ctx context.Context) {
		l.mu.Lock()
		l.running[node] = true
		l.ran[node]++
		if n := len(l.running); n > l.max {
			l.max = n
		}
		l.mu.Unlock()
		<-ctx.Done()
		l.mu.Lock()
		delete(l.running, node)
		l.mu.Unlock()
	}
}

// current returns the node running the work ("" when none).
func (l *leaders) current() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n := range l.running {
		return n
	}
	return ""
}

func waitLeader(t *testing.T, l *leaders, not string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if n := l.current(); n != "" && n != not {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no leader other than %q", not)
	return ""
}

func TestLeadOneNodeAtATime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	log := slog.New(slog.DiscardHandler)
	l := &leaders{running: map[string]bool{}, ran: map[string]int{}}
	nodes := []string{"n1", "n2", "n3"}
	stops := map[string]context.CancelFunc{}
	var wg sync.WaitGroup
	for _, n := range nodes {
		nctx, stop := context.WithCancel(ctx)
		stops[n] = stop
		wg.Add(1)
		go func() {
			defer wg.Done()
			leadWith(nctx, b, n, "test-work", time.Second, l.work(n), log)
		}()
	}
	// Each leader stops in turn; another one takes over.
	prev := ""
	for range nodes {
		cur := waitLeader(t, l, prev)
		stops[cur]()
		prev = cur
	}
	wg.Wait()
	if l.max != 1 {
		t.Errorf("%d nodes ran the work at once, want 1", l.max)
	}
	for _, n := range nodes {
		if l.ran[n] != 1 {
			t.Errorf("node %s led %d times, want 1", n, l.ran[n])
		}
	}
}
