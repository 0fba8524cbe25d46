// Package rrpc implements the revert RPC of the IoT Hub SDKs (PROTOCOL.md
// §13.10): the platform publishes a request on
// `$rrpc/rxd/{pid}/{dn}/{processId}` and waits for the device's answer on
// `$rrpc/txd/{pid}/{dn}/{processId}`, correlated by the process id.
//
// Correlation is in memory, on the node that sent the request. In a cluster
// the reply may reach another node (the one the device is connected to):
// that node hands it to a Relay, which brings it to every node, and the node
// with the pending call takes it (HandleRelayed).
package rrpc

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// DefaultTimeout is how long Call waits for the device (PROTOCOL.md §13.11).
const DefaultTimeout = 10 * time.Second

// ErrTimeout is returned by Call when the device did not answer in time.
var ErrTimeout = errors.New("rrpc: no reply from the device")

// Publisher sends a message to a device. It returns an error when the
// device cannot be reached.
type Publisher interface {
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Relay passes a reply that no call waits for on the node that received it
// to every node of a cluster (internal/app wires it over NATS).
type Relay interface {
	Publish(ctx context.Context, r RelayedReply) error
}

// RelayedReply is a device's reply passed between nodes by a Relay.
type RelayedReply struct {
	ProductID  string `json:"productId"`
	DeviceName string `json:"deviceName"`
	ProcessID  int64  `json:"processId"`
	Payload    []byte `json:"payload"`
}

// Reply is the outcome of a Call.
type Reply struct {
	MessageID int64  // the process id used in the topics
	Payload   []byte // the device's answer
}

type key struct {
	pid, dn string
	id      int64
}

// Service sends RRPC requests and correlates replies; it is safe for
// concurrent use.
type Service struct {
	pub     Publisher
	timeout time.Duration
	next    atomic.Int64

	mu      sync.Mutex
	pending map[key]chan []byte
	relay   Relay        // nil on a single node
	log     *slog.Logger // relay failures; set with the relay
	now     func() time.Time
}

// New returns a Service; timeout 0 means DefaultTimeout. Message ids start
// from the current time in milliseconds so they do not repeat across
// restarts.
func New(pub Publisher, timeout time.Duration, now func() time.Time) *Service {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if now == nil {
		now = time.Now
	}
	s := &Service{pub: pub, timeout: timeout, pending: make(map[key]chan []byte), now: now}
	s.next.Store(now().UnixMilli())
	return s
}

// Message ids are the process ids devices echo in their reply topics; the C
// SDK keeps at most 16 characters of one (MAX_RRPC_PROCESS_ID_LEN), and the
// API returns them as JSON numbers, exact in JavaScript below 2^53 (about
// 9.007 * 10^15). nodeTagUnit leaves 13 digits to the millisecond counter
// (enough until the year 2286) and the tag stays below 900.
const (
	nodeTagUnit = 10_000_000_000_000 // 10^13
	maxNodeTag  = 899
)

// NodeTag is the tag UseNodeTag derives from a node id: 1..899.
func NodeTag(node string) int64 {
	h := fnv.New32a()
	h.Write([]byte(node))
	return 1 + int64(h.Sum32()%maxNodeTag)
}

// UseNodeTag makes this node's message ids tag*10^13 + the millisecond
// counter, so that nodes of a cluster, whose counters started at nearly the
// same time, do not send the same process id to a device (its reply would
// complete the other node's call). Two nodes share a tag with probability
// 1/899 per pair; they are then no worse off than counters without a tag.
// Call it before the first Call.
func (s *Service) UseNodeTag(tag int64) {
	if tag < 1 || tag > maxNodeTag {
		tag = 1 + (tag%maxNodeTag+maxNodeTag)%maxNodeTag
	}
	s.next.Store(tag*nodeTagUnit + s.now().UnixMilli()%nodeTagUnit)
}

// Call publishes payload to the device at QoS0 and waits for its reply. The
// MessageID of the returned Reply is set even when err is ErrTimeout.
func (s *Service) Call(ctx context.Context, productID, deviceName string, payload []byte) (Reply, error) {
	id := s.next.Add(1)
	k := key{productID, deviceName, id}
	ch := make(chan []byte, 1)
	s.mu.Lock()
	s.pending[k] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, k)
		s.mu.Unlock()
	}()
	r := Reply{MessageID: id}
	topic := protocol.RRPCRequest(productID, deviceName, strconv.FormatInt(id, 10))
	if err := s.pub.Publish(ctx, productID, deviceName, topic, payload, 0); err != nil {
		return r, fmt.Errorf("rrpc to %s/%s: %w", productID, deviceName, err)
	}
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case p := <-ch:
		r.Payload = p
		return r, nil
	case <-t.C:
		return r, ErrTimeout
	case <-ctx.Done():
		return r, ctx.Err()
	}
}

// SetRelay makes HandleUplink hand the replies no local call waits for to
// relay; its failures are logged to log (nil: discarded). It is set in
// cluster mode only, before the service is used; nil turns relaying off.
func (s *Service) SetRelay(relay Relay, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.mu.Lock()
	s.relay, s.log = relay, log
	s.mu.Unlock()
}

// HandleReply takes a device's message on `$rrpc/txd/{pid}/{dn}/{processId}`.
// It reports whether a pending call on this node was waiting for it; late,
// duplicate and unknown replies are dropped. It does not relay.
func (s *Service) HandleReply(productID, deviceName, processID string, payload []byte) bool {
	id, err := strconv.ParseInt(processID, 10, 64)
	if err != nil {
		return false
	}
	return s.deliver(key{productID, deviceName, id}, payload)
}

// HandleRelayed takes a reply relayed from another node and reports whether
// a pending call on this node was waiting for it. Every node gets every
// relayed reply; at most one has the call.
func (s *Service) HandleRelayed(r RelayedReply) bool {
	return s.deliver(key{r.ProductID, r.DeviceName, r.ProcessID}, r.Payload)
}

func (s *Service) deliver(k key, payload []byte) bool {
	s.mu.Lock()
	ch, ok := s.pending[k]
	if ok {
		delete(s.pending, k)
	}
	s.mu.Unlock()
	if !ok {
		return false
	}
	ch <- append([]byte(nil), payload...)
	return true
}

// HandleUplink takes a parsed uplink; it handles only RRPC replies. In a
// cluster (SetRelay), a reply no call waits for on this node is relayed:
// the call may have been made on another node.
func (s *Service) HandleUplink(ctx context.Context, t protocol.Topic, payload []byte) {
	if t.Family != protocol.FamilyRRPC || t.Direction != protocol.Up {
		return
	}
	id, err := strconv.ParseInt(t.Rest, 10, 64)
	if err != nil {
		return
	}
	if s.deliver(key{t.ProductID, t.DeviceName, id}, payload) {
		return
	}
	s.mu.Lock()
	relay, log := s.relay, s.log
	s.mu.Unlock()
	if relay == nil {
		return
	}
	r := RelayedReply{ProductID: t.ProductID, DeviceName: t.DeviceName, ProcessID: id, Payload: payload}
	if err := relay.Publish(ctx, r); err != nil {
		log.Warn("rrpc: relay reply", "product_id", t.ProductID, "device_name", t.DeviceName,
			"process_id", id, "err", err)
	}
}
