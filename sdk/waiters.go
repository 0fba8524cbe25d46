package sdk

import (
	"context"
	"sync"
)

// waiters correlates requests with their replies by a key (the
// clientToken, or a fixed key for replies that carry none).
type waiters struct {
	mu sync.Mutex
	m  map[string]chan []byte
}

func newWaiters() *waiters { return &waiters{m: map[string]chan []byte{}} }

// add registers key and returns the channel its reply arrives on, and a
// function that unregisters it.
func (w *waiters) add(key string) (<-chan []byte, func()) {
	ch := make(chan []byte, 1)
	w.mu.Lock()
	w.m[key] = ch
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		if w.m[key] == ch {
			delete(w.m, key)
		}
		w.mu.Unlock()
	}
}

// deliver hands payload to the waiter of key, if any, and reports whether
// there was one. Each waiter receives at most one reply.
func (w *waiters) deliver(key string, payload []byte) bool {
	w.mu.Lock()
	ch, ok := w.m[key]
	delete(w.m, key)
	w.mu.Unlock()
	if ok {
		ch <- payload
	}
	return ok
}

// wait waits for the reply on ch until ctx ends.
func wait(ctx context.Context, ch <-chan []byte) ([]byte, error) {
	select {
	case p := <-ch:
		return p, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
