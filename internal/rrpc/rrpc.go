// Package rrpc implements the revert RPC of the IoT Hub SDKs (PROTOCOL.md
// §13.10): the platform publishes a request on
// `$rrpc/rxd/{pid}/{dn}/{processId}` and waits for the device's answer on
// `$rrpc/txd/{pid}/{dn}/{processId}`, correlated by the process id.
//
// Correlation is in memory: the reply must reach the node that sent the
// request (the node the device is connected to in a single-node setup).
package rrpc

import (
	"context"
	"errors"
	"fmt"
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
	s := &Service{pub: pub, timeout: timeout, pending: make(map[key]chan []byte)}
	s.next.Store(now().UnixMilli())
	return s
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

// HandleReply takes a device's message on `$rrpc/txd/{pid}/{dn}/{processId}`.
// It reports whether a pending call was waiting for it; late, duplicate and
// unknown replies are dropped.
func (s *Service) HandleReply(productID, deviceName, processID string, payload []byte) bool {
	id, err := strconv.ParseInt(processID, 10, 64)
	if err != nil {
		return false
	}
	k := key{productID, deviceName, id}
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

// HandleUplink takes a parsed uplink; it handles only RRPC replies.
func (s *Service) HandleUplink(_ context.Context, t protocol.Topic, payload []byte) {
	if t.Family == protocol.FamilyRRPC && t.Direction == protocol.Up {
		s.HandleReply(t.ProductID, t.DeviceName, t.Rest, payload)
	}
}
