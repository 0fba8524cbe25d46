// Package commlog is the bounded in-memory conversation log of devices for
// the console: the latest messages each device sent and received, what the
// platform answered, and its connection events, kept in one ring buffer of
// fixed capacity across all devices and streamed live to watchers.
//
// Nothing is persisted: the log starts empty with the process.
package commlog

import (
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultCapacity   = 10000
	DefaultMaxPayload = 4096
	// WatchBuffer is the number of entries a watcher's channel holds; a
	// watcher further behind loses entries (see Watch).
	WatchBuffer = 256
	// correlateWindow is how many of a device's latest entries are searched
	// for the request a reply answers.
	correlateWindow = 128
)

// Options configure a Log.
type Options struct {
	// Capacity is the number of entries kept across all devices; the oldest
	// are forgotten first.
	Capacity int
	// MaxPayload is the number of payload bytes kept per entry.
	MaxPayload int
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Log is the conversation log. It is safe for concurrent use.
type Log struct {
	maxPayload int
	now        func() time.Time

	mu   sync.Mutex
	ring []Entry // ring[(seq-1) % len(ring)] holds the entry with Seq seq
	// answered[i] tells that ring[i] is a request a reply has settled.
	answered []bool
	lastSeq  uint64
	devices  map[deviceKey]*slotList
	// watchers by device; the zero key watches every device.
	watchers map[deviceKey]map[*watcher]struct{}
}

type deviceKey struct{ productID, deviceName string }

type watcher struct {
	key     deviceKey
	ch      chan Entry
	skipped int
}

// New builds an empty Log.
func New(o Options) *Log {
	if o.Capacity <= 0 {
		o.Capacity = DefaultCapacity
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Log{
		maxPayload: o.MaxPayload,
		now:        o.Now,
		ring:       make([]Entry, o.Capacity),
		answered:   make([]bool, o.Capacity),
		devices:    make(map[deviceKey]*slotList),
		watchers:   make(map[deviceKey]map[*watcher]struct{}),
	}
}

// Record adds e to the log and sends it to the device's watchers. It sets
// e.Seq, and e.Time when zero; it keeps at most MaxPayload bytes of the
// payload (Truncated), and reads Method and ClientToken from a JSON object
// payload when they are not set.
//
// A downlink that answers a request (its method ends in "_reply", or it has
// a code or status) settles the device's latest unanswered uplink with the
// same clientToken: the uplink's OK and Result become the reply's verdict
// ("code 0 success", "code 406 invalid value: ...") and the updated uplink
// is sent to watchers again, with its Seq unchanged. An uplink reply (such
// as control_reply) likewise adds the device's answer to the Result of the
// downlink request it answers. An uplink not answered yet has OK true and
// an empty Result; an uplink reply is OK unless its code is not 0.
//
// Record does not block: it takes a short lock, and watchers that are not
// keeping up lose entries.
func (l *Log) Record(e Entry) {
	raw := e.Payload
	if len(raw) > l.maxPayload {
		e.Payload = strings.Clone(cut(raw, l.maxPayload))
		e.Truncated = true
	}
	l.record(e, raw)
}

// RecordBytes is Record with the payload given as bytes, the form the
// broker's tap sees: e.Payload is replaced by a copy of payload (at most
// MaxPayload bytes of it); payload is not kept.
func (l *Log) RecordBytes(e Entry, payload []byte) {
	e.Truncated = false
	if len(payload) <= l.maxPayload {
		e.Payload = string(payload)
		l.record(e, e.Payload)
		return
	}
	e.Payload = cut(string(payload[:l.maxPayload+1]), l.maxPayload)
	e.Truncated = true
	raw := ""
	if payload[0] == '{' {
		raw = string(payload) // parsed whole, then dropped
	}
	l.record(e, raw)
}

// record stores e; raw is its complete payload, of which e.Payload is a
// prefix.
func (l *Log) record(e Entry, raw string) {
	var f fields
	parsed := false
	if len(raw) > 0 && raw[0] == '{' {
		f, parsed = scanFields(raw)
		if parsed {
			if e.Method == "" {
				e.Method = f.method.text(raw, e.Payload)
			}
			if e.ClientToken == "" {
				e.ClientToken = f.token.text(raw, e.Payload)
			}
		}
	}
	isReply := parsed && (strings.HasSuffix(e.Method, "_reply") || f.hasCode || f.hasStatus)
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	if e.Direction == Up && e.Result == "" {
		// A request is fine until answered; a device's reply is as good as
		// its code.
		e.OK = !isReply || !f.hasCode || f.code == 0
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastSeq++
	e.Seq = l.lastSeq
	i := l.slot(e.Seq)
	if l.ring[i].Seq != 0 {
		l.forget(i)
	}
	l.ring[i] = e
	l.answered[i] = isReply // a reply is never a request to settle
	key := deviceKey{e.ProductID, e.DeviceName}
	list := l.devices[key]
	if list == nil {
		list = &slotList{}
		l.devices[key] = list
	}
	list.push(i)
	l.notify(key, e)

	if isReply && e.ClientToken != "" && (e.Direction == Up || e.Direction == Down) {
		l.settle(key, list, e, f, raw)
	}
}

// slot is the ring index of the entry with Seq seq.
func (l *Log) slot(seq uint64) int { return int((seq - 1) % uint64(len(l.ring))) }

// forget drops an entry about to be overwritten from its device's index; it
// is the device's oldest.
func (l *Log) forget(slot int) {
	old := &l.ring[slot]
	key := deviceKey{old.ProductID, old.DeviceName}
	list := l.devices[key]
	if list == nil {
		return
	}
	list.popFront(slot)
	if list.len() == 0 {
		delete(l.devices, key)
	}
}

// settle finds the request that reply answers among the device's latest
// entries (the opposite direction, same clientToken, not a reply itself,
// not answered yet), records the verdict on it and sends it again.
func (l *Log) settle(key deviceKey, list *slotList, reply Entry, f fields, raw string) {
	want := Up
	if reply.Direction == Up {
		want = Down
	}
	n := list.len()
	for i := n - 2; i >= 0 && i >= n-1-correlateWindow; i-- {
		j := list.at(i)
		if l.answered[j] {
			continue
		}
		req := &l.ring[j]
		if req.Direction != want || req.ClientToken != reply.ClientToken {
			continue
		}
		verdict := verdict(f, raw, reply.Payload)
		l.answered[j] = true
		if want == Up {
			req.OK = !f.hasCode || f.code == 0
			req.Result = verdict
		} else {
			req.OK = req.OK && (!f.hasCode || f.code == 0)
			if req.Result != "" {
				req.Result += ", replied " + verdict
			} else {
				req.Result = "replied " + verdict
			}
		}
		l.notify(key, *req)
		return
	}
}

// replyMeanings are the reply codes of PROTOCOL.md §5.8, with their
// Result when the status adds nothing.
var replyMeanings = map[int]struct{ meaning, result string }{
	0:   {"success", "code 0 success"},
	400: {"payload is not JSON", "code 400 payload is not JSON"},
	403: {"unknown method or id", "code 403 unknown method or id"},
	405: {"timestamp out of range", "code 405 timestamp out of range"},
	406: {"invalid value", "code 406 invalid value"},
	503: {"internal error", "code 503 internal error"},
}

// verdict is a reply's code and status as a Result: "code 0 success",
// "code 406 invalid value: brightness out of range".
func verdict(f fields, raw, stored string) string {
	status := ""
	if f.hasStatus {
		status = f.status.text(raw, stored)
	}
	if !f.hasCode {
		if status == "" {
			return "no code"
		}
		return "status: " + status
	}
	m, known := replyMeanings[f.code]
	if known && (status == "" || strings.EqualFold(status, m.meaning)) {
		return m.result
	}
	s := "code " + strconv.Itoa(f.code)
	if known {
		s = m.result
	}
	if status != "" {
		s += ": " + status
	}
	return s
}

// cut shortens s to at most n bytes without splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	if !utf8.RuneStart(s[i]) {
		i = n // not UTF-8 text: cut at n
	}
	return s[:i]
}
