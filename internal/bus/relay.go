package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Relay publishes values of type T as JSON on one core NATS subject and hands
// every value published there, by any node (itself included), to a handler.
// There is no JetStream behind it: a value published while a node is not
// subscribed is not delivered to that node.
//
// Thingo relays device replies that reach a node with no call waiting for
// them (see internal/app's relayCalls) to the node that made the call.
type Relay[T any] struct {
	nc      *nats.Conn
	subject string
	sub     *nats.Subscription
	cancel  context.CancelFunc
}

// OpenRelay subscribes to subject and calls h, one value at a time, for each
// value published on it; values that do not decode are logged and dropped.
// The context given to h ends when the relay is closed.
func OpenRelay[T any](b *Bus, subject string, h func(ctx context.Context, v T)) (*Relay[T], error) {
	if subject == "" {
		return nil, errors.New("bus: relay: empty subject")
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay[T]{nc: b.nc, subject: subject, cancel: cancel}
	log := b.log
	var err error
	r.sub, err = b.nc.Subscribe(subject, func(m *nats.Msg) {
		var v T
		if err := json.Unmarshal(m.Data, &v); err != nil {
			log.Warn("relay: bad message", "subject", m.Subject, "err", err)
			return
		}
		h(ctx, v)
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bus: subscribe %s: %w", subject, err)
	}
	// Registered with the server before the first call can need it.
	if err := b.nc.Flush(); err != nil {
		_ = r.sub.Unsubscribe()
		cancel()
		return nil, fmt.Errorf("bus: subscribe %s: %w", subject, err)
	}
	return r, nil
}

// Publish sends v to every node subscribed to the relay's subject.
func (r *Relay[T]) Publish(ctx context.Context, v T) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bus: relay %s: %w", r.subject, err)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bus: relay %s: encode: %w", r.subject, err)
	}
	if err := r.nc.Publish(r.subject, data); err != nil {
		return fmt.Errorf("bus: relay %s: %w", r.subject, err)
	}
	return nil
}

// Close unsubscribes; the handler's context ends. Closing after the bus is
// closed is not an error.
func (r *Relay[T]) Close() error {
	r.cancel()
	err := r.sub.Unsubscribe()
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionDraining) || errors.Is(err, nats.ErrBadSubscription) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("bus: close relay %s: %w", r.subject, err)
	}
	return nil
}
