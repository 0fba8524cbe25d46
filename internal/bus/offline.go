package bus

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// offlinePrefix starts the subject of every offline message:
// "offline.<encoded client id>".
const offlinePrefix = "offline."

// Headers of an offline message; the MQTT payload is the message body.
const (
	hdrTopic    = "Thingo-Topic"
	hdrTopicB64 = "Thingo-Topic-B64" // used when the topic is not a safe header value
	hdrQoS      = "Thingo-Qos"
)

// OfflineQueue keeps the QoS 1 messages of clients with a persistent session
// while they are offline, in the stream OFFLINE with one subject per client.
// Reads use direct gets, never consumers, so the number of clients is not
// bounded by the server's consumer limit. Each subject keeps at most the
// configured number of messages (oldest dropped) for at most the configured
// age.
type OfflineQueue struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	// index, when not nil, knows every client that may have queued
	// messages, so that Purge can skip the server for the others (every
	// CONNECT of a clean session purges). Only a queue whose stream no
	// other process writes may keep one: the embedded server's.
	index *queueIndex
}

// queueIndex is the set of offline subjects that may hold messages. An
// entry may outlive its messages (delivered, expired): Purge then asks the
// server once and drops it. A subject never misses from it while it holds
// messages written through this process.
type queueIndex struct {
	mu   sync.Mutex
	subj map[string]uint64 // subject -> generation of its last Enqueue
	gen  uint64
}

// newQueueIndex reads the subjects that hold messages now.
func newQueueIndex(ctx context.Context, stream jetstream.Stream) (*queueIndex, error) {
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(offlinePrefix+">"))
	if err != nil {
		return nil, fmt.Errorf("bus: offline subjects: %w", err)
	}
	ix := &queueIndex{subj: make(map[string]uint64, len(info.State.Subjects))}
	for s, n := range info.State.Subjects {
		if n > 0 {
			ix.subj[s] = 0
		}
	}
	return ix, nil
}

func (ix *queueIndex) add(subj string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.gen++
	ix.subj[subj] = ix.gen
}

// lookup reports whether subj may hold messages, and the generation to
// pass to purged.
func (ix *queueIndex) lookup(subj string) (uint64, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	g, ok := ix.subj[subj]
	return g, ok
}

// purged forgets subj unless a message was enqueued since gen was read.
func (ix *queueIndex) purged(subj string, gen uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if g, ok := ix.subj[subj]; ok && g == gen {
		delete(ix.subj, subj)
	}
}

func (ix *queueIndex) len() int {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return len(ix.subj)
}

func offlineSubject(clientID string) (string, error) {
	t, err := encodeToken(clientID)
	if err != nil {
		return "", fmt.Errorf("client id: %w", err)
	}
	return offlinePrefix + t, nil
}

// Enqueue appends a message for clientID.
func (q *OfflineQueue) Enqueue(ctx context.Context, clientID, topic string, payload []byte, qos byte) error {
	subj, err := offlineSubject(clientID)
	if err != nil {
		return fmt.Errorf("bus: enqueue: %w", err)
	}
	if topic == "" {
		return fmt.Errorf("bus: enqueue for %q: empty topic", clientID)
	}
	if qos > 2 {
		return fmt.Errorf("bus: enqueue for %q: invalid qos %d", clientID, qos)
	}
	if q.index != nil {
		q.index.add(subj) // before the write: a Purge meanwhile must not skip it
	}
	msg := &nats.Msg{Subject: subj, Header: nats.Header{}, Data: payload}
	setTopicHeader(msg.Header, topic)
	msg.Header.Set(hdrQoS, strconv.Itoa(int(qos)))
	if _, err := q.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("bus: enqueue for %q: %w", clientID, err)
	}
	return nil
}

// Next returns the oldest message of clientID whose sequence is greater than
// afterSeq; ok is false when there is none. Pass the returned seq as afterSeq
// to walk the queue without deleting.
func (q *OfflineQueue) Next(ctx context.Context, clientID string, afterSeq uint64) (seq uint64, topic string, payload []byte, qos byte, ok bool, err error) {
	subj, err := offlineSubject(clientID)
	if err != nil {
		return 0, "", nil, 0, false, fmt.Errorf("bus: next: %w", err)
	}
	m, err := q.stream.GetMsg(ctx, afterSeq+1, jetstream.WithGetMsgSubject(subj))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, "", nil, 0, false, nil
	}
	if err != nil {
		return 0, "", nil, 0, false, fmt.Errorf("bus: next for %q: %w", clientID, err)
	}
	topic, qos, err = decodeHeaders(m.Header)
	if err != nil {
		return 0, "", nil, 0, false, fmt.Errorf("bus: next for %q: seq %d: %w", clientID, m.Sequence, err)
	}
	return m.Sequence, topic, m.Data, qos, true, nil
}

// DeleteThrough removes the messages of clientID up to and including seq,
// in one request that cannot touch another client's messages. It is the
// delete of an in-order drain (Next, deliver, DeleteThrough): everything
// before seq was delivered or dropped already. Messages already gone are
// not an error.
func (q *OfflineQueue) DeleteThrough(ctx context.Context, clientID string, seq uint64) error {
	subj, err := offlineSubject(clientID)
	if err != nil {
		return fmt.Errorf("bus: delete through: %w", err)
	}
	if seq == 0 {
		return nil
	}
	if err := q.stream.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(seq+1)); err != nil {
		return fmt.Errorf("bus: delete through %d for %q: %w", seq, clientID, err)
	}
	return nil
}

// Purge removes every queued message of clientID. With an index, a client
// with nothing queued costs no request to the server.
func (q *OfflineQueue) Purge(ctx context.Context, clientID string) error {
	subj, err := offlineSubject(clientID)
	if err != nil {
		return fmt.Errorf("bus: purge: %w", err)
	}
	var gen uint64
	if q.index != nil {
		var ok bool
		if gen, ok = q.index.lookup(subj); !ok {
			return nil
		}
	}
	if err := q.stream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
		return fmt.Errorf("bus: purge %q: %w", clientID, err)
	}
	if q.index != nil {
		q.index.purged(subj, gen)
	}
	return nil
}

// Len returns the number of messages queued for clientID.
func (q *OfflineQueue) Len(ctx context.Context, clientID string) (int, error) {
	subj, err := offlineSubject(clientID)
	if err != nil {
		return 0, fmt.Errorf("bus: len: %w", err)
	}
	info, err := q.stream.Info(ctx, jetstream.WithSubjectFilter(subj))
	if err != nil {
		return 0, fmt.Errorf("bus: len of %q: %w", clientID, err)
	}
	return int(info.State.Subjects[subj]), nil
}

// setTopicHeader stores an MQTT topic in h. Topics that would not survive
// the NATS header encoding unchanged (control characters, leading or
// trailing spaces) are stored base64-encoded under another key.
func setTopicHeader(h nats.Header, topic string) {
	if headerSafe(topic) {
		h.Set(hdrTopic, topic)
		return
	}
	h.Set(hdrTopicB64, base64.StdEncoding.EncodeToString([]byte(topic)))
}

func headerSafe(v string) bool {
	if v == "" || v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// errBadHeaders is returned for an offline message whose headers were not
// written by Enqueue.
var errBadHeaders = errors.New("malformed offline message headers")

func decodeHeaders(h nats.Header) (topic string, qos byte, err error) {
	if b64 := h.Get(hdrTopicB64); b64 != "" {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", 0, fmt.Errorf("%w: topic: %w", errBadHeaders, err)
		}
		topic = string(raw)
	} else if topic = h.Get(hdrTopic); topic == "" {
		return "", 0, fmt.Errorf("%w: no topic", errBadHeaders)
	}
	q, err := strconv.ParseUint(h.Get(hdrQoS), 10, 8)
	if err != nil || q > 2 {
		return "", 0, fmt.Errorf("%w: qos %q", errBadHeaders, h.Get(hdrQoS))
	}
	return topic, byte(q), nil
}
