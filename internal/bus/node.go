package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrNoNode is returned by Request when no node serves the subject: the
// node stopped (or never existed) and its presence records are stale.
var ErrNoNode = errors.New("bus: node not reachable")

// nodeRequestLimit bounds the requests a node handles at once; more wait
// in the subscription's buffer.
const nodeRequestLimit = 256

// NodeSubject is the core NATS subject on which node serves requests from
// the other nodes: "thingo.node.<node>.rpc", the node id escaped as
// described at DownlinkSubject.
func NodeSubject(node string) (string, error) {
	t, err := encodeToken(node)
	if err != nil {
		return "", fmt.Errorf("bus: node subject: %w", err)
	}
	return "thingo.node." + t + ".rpc", nil
}

// NodeHandler answers one request sent to this node. ctx ends when the
// requester can no longer be waiting or the node stops.
type NodeHandler func(ctx context.Context, req []byte) []byte

// NodeServer serves the requests sent to one node; Stop ends it.
type NodeServer struct {
	sub    *nats.Subscription
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}
}

// ServeNode subscribes to the node's subject and answers each request with
// h, on its own goroutine. timeout bounds one request's handling.
func (b *Bus) ServeNode(node string, timeout time.Duration, h NodeHandler) (*NodeServer, error) {
	subj, err := NodeSubject(node)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &NodeServer{cancel: cancel, sem: make(chan struct{}, nodeRequestLimit)}
	log := b.log
	s.sub, err = b.nc.Subscribe(subj, func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		s.sem <- struct{}{}
		s.wg.Add(1)
		go func() {
			defer func() { <-s.sem; s.wg.Done() }()
			rctx, rcancel := context.WithTimeout(ctx, timeout)
			defer rcancel()
			if err := m.Respond(h(rctx, m.Data)); err != nil {
				log.Warn("node request: reply", "subject", m.Subject, "err", err)
			}
		}()
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bus: subscribe %s: %w", subj, err)
	}
	// The subscription is registered with the server before the node
	// announces itself in presence records.
	if err := b.nc.Flush(); err != nil {
		_ = s.sub.Unsubscribe()
		cancel()
		return nil, fmt.Errorf("bus: subscribe %s: %w", subj, err)
	}
	return s, nil
}

// Stop unsubscribes and waits for the requests being handled; their
// contexts are cancelled.
func (s *NodeServer) Stop() error {
	err := s.sub.Unsubscribe()
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) {
		err = nil
	}
	s.cancel()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("bus: stop node server: %w", err)
	}
	return nil
}

// Request sends req to node and returns its answer. It fails with ErrNoNode
// when nobody serves the node's subject, and with ctx's error when the node
// does not answer in time.
func (b *Bus) Request(ctx context.Context, node string, req []byte) ([]byte, error) {
	subj, err := NodeSubject(node)
	if err != nil {
		return nil, err
	}
	m, err := b.nc.RequestWithContext(ctx, subj, req)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, fmt.Errorf("bus: request %s: %w", node, ErrNoNode)
	}
	if err != nil {
		return nil, fmt.Errorf("bus: request %s: %w", node, err)
	}
	return m.Data, nil
}
