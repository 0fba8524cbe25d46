package commlog

import (
	"context"
	"strconv"
)

// Recent returns up to n of the device's latest entries, oldest first.
// Empty productID and deviceName select every device's entries.
func (l *Log) Recent(productID, deviceName string, n int) []Entry {
	if n <= 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if productID == "" && deviceName == "" {
		return l.recentAll(n)
	}
	list := l.devices[deviceKey{productID, deviceName}]
	if list == nil {
		return nil
	}
	count := min(n, list.len())
	out := make([]Entry, 0, count)
	for i := list.len() - count; i < list.len(); i++ {
		out = append(out, l.ring[list.at(i)])
	}
	return out
}

func (l *Log) recentAll(n int) []Entry {
	kept := min(l.lastSeq, uint64(len(l.ring)))
	count := min(uint64(n), kept)
	out := make([]Entry, 0, count)
	for seq := l.lastSeq - count + 1; seq <= l.lastSeq; seq++ {
		out = append(out, l.ring[l.slot(seq)])
	}
	return out
}

// Watch streams the device's entries recorded from now on (and entries
// sent again when a reply settles them) until ctx ends, when the channel is
// closed. Empty productID and deviceName watch every device.
//
// The channel holds WatchBuffer entries. A watcher that falls further
// behind loses entries rather than slow Record down; once it has room
// again it first receives an Event entry with Seq 0 (not stored in the log)
// saying how many entries it missed: "N entries skipped (slow viewer)".
func (l *Log) Watch(ctx context.Context, productID, deviceName string) <-chan Entry {
	key := deviceKey{productID, deviceName}
	w := &watcher{key: key, ch: make(chan Entry, WatchBuffer)}
	l.mu.Lock()
	set := l.watchers[key]
	if set == nil {
		set = make(map[*watcher]struct{})
		l.watchers[key] = set
	}
	set[w] = struct{}{}
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.watchers[key], w)
		if len(l.watchers[key]) == 0 {
			delete(l.watchers, key)
		}
		close(w.ch)
	})
	return w.ch
}

// notify sends e to the watchers of its device and of every device. l.mu
// is held: sends never block.
func (l *Log) notify(key deviceKey, e Entry) {
	if len(l.watchers) == 0 {
		return
	}
	for w := range l.watchers[key] {
		w.send(e, l)
	}
	if key != (deviceKey{}) {
		for w := range l.watchers[deviceKey{}] {
			w.send(e, l)
		}
	}
}

func (w *watcher) send(e Entry, l *Log) {
	if w.skipped > 0 {
		// Room for the notice and the entry, or the entry is lost too.
		if cap(w.ch)-len(w.ch) < 2 {
			w.skipped++
			return
		}
		w.ch <- Entry{
			Time: l.now(), ProductID: w.key.productID, DeviceName: w.key.deviceName, Direction: Event,
			Kind: EventSkipped, Result: strconv.Itoa(w.skipped) + " entries skipped (slow viewer)",
		}
		w.skipped = 0
	}
	select {
	case w.ch <- e:
	default:
		w.skipped++
	}
}
