package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrLeaseLost is the cause of a Lease's end when another node holds the
// lease or it could not be renewed in time.
var ErrLeaseLost = errors.New("bus: lease lost")

// leaseKey is the only key of a lease bucket.
const leaseKey = "holder"

// LeaseBucket is the KV bucket of the lease called name: "leader-<name>".
func LeaseBucket(name string) string { return "leader-" + name }

// Lease is the leadership of one node among the nodes sharing the bus for
// one kind of work, won by Campaign. It is kept in the KV bucket
// LeaseBucket(name) whose entries expire ttl after their last write: the
// holder renews it every ttl/3, and when the holder stops renewing (it
// crashed or lost the bus), another node takes it over once it expired.
type Lease struct {
	kv   jetstream.KeyValue
	node string
	ttl  time.Duration

	done   chan struct{} // closed when the lease ends
	stop   chan struct{} // closed by Resign
	wg     sync.WaitGroup
	once   sync.Once // closes done
	resign sync.Once // closes stop
	mu     sync.Mutex
	rev    uint64 // revision of the holder's last write
	ending error  // why the lease ended
}

// Campaign blocks until node holds the lease called name (only characters
// [A-Za-z0-9_-]) or ctx ends. It polls every ttl/4 while another node holds
// it. The caller must Resign the returned Lease, and stop the work it
// leads as soon as Done is closed.
func (b *Bus) Campaign(ctx context.Context, name, node string, ttl time.Duration) (*Lease, error) {
	if node == "" {
		return nil, fmt.Errorf("bus: campaign %s: %w", name, ErrInvalidID)
	}
	if ttl < 100*time.Millisecond {
		return nil, fmt.Errorf("bus: campaign %s: ttl %s is under 100ms", name, ttl)
	}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      LeaseBucket(name),
		Description: "Thingo: the node leading " + name,
		History:     1,
		TTL:         ttl,
		Storage:     jetstream.FileStorage,
		Replicas:    b.replicas(ctx),
	})
	if err != nil {
		return nil, fmt.Errorf("bus: campaign %s: lease bucket: %w", name, err)
	}
	l := &Lease{kv: kv, node: node, ttl: ttl, done: make(chan struct{}), stop: make(chan struct{})}
	poll := time.NewTicker(ttl / 4)
	defer poll.Stop()
	for {
		won, err := l.try(ctx)
		if err != nil && ctx.Err() == nil {
			b.log.Warn("lease campaign", "lease", name, "err", err)
		}
		if won {
			l.wg.Add(1)
			go l.renew()
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bus: campaign %s: %w", name, ctx.Err())
		case <-poll.C:
		}
	}
}

// try takes the lease if nobody holds it, or if the holder is this node
// (a restart with the same node id).
func (l *Lease) try(ctx context.Context) (bool, error) {
	rev, err := l.kv.Create(ctx, leaseKey, []byte(l.node))
	if err == nil {
		l.rev = rev
		return true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return false, err
	}
	e, err := l.kv.Get(ctx, leaseKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil // expired meanwhile: the next try creates it
	}
	if err != nil {
		return false, err
	}
	if string(e.Value()) != l.node {
		return false, nil
	}
	rev, err = l.kv.Update(ctx, leaseKey, []byte(l.node), e.Revision())
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	l.rev = rev
	return true, nil
}

// renew rewrites the lease every ttl/3 until Resign, or until it is lost:
// another node wrote it, or no renewal succeeded for 2/3 of the ttl (the
// lease may expire soon and be taken, so the holder steps down first).
func (l *Lease) renew() {
	defer l.wg.Done()
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
		l.mu.Lock()
		rev := l.rev
		l.mu.Unlock()
		next, err := l.kv.Update(ctx, leaseKey, []byte(l.node), rev)
		cancel()
		switch {
		case err == nil:
			l.mu.Lock()
			l.rev = next
			l.mu.Unlock()
			last = time.Now()
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound):
			l.end(fmt.Errorf("%w: taken or expired: %w", ErrLeaseLost, err))
			return
		case time.Since(last) >= 2*l.ttl/3:
			l.end(fmt.Errorf("%w: not renewed: %w", ErrLeaseLost, err))
			return
		}
	}
}

func (l *Lease) end(cause error) {
	l.once.Do(func() {
		l.mu.Lock()
		l.ending = cause
		l.mu.Unlock()
		close(l.done)
	})
}

// Done is closed when the lease ends: lost, or resigned.
func (l *Lease) Done() <-chan struct{} { return l.done }

// Err returns why the lease ended (nil while it is held or after Resign).
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ending
}

// Resign stops renewing the lease and releases it, unless another node
// holds it by now, so that another node can take it over at once. It is
// idempotent.
func (l *Lease) Resign(ctx context.Context) error {
	first := false
	l.resign.Do(func() { first = true; close(l.stop) })
	l.wg.Wait()
	if !first {
		return nil
	}
	lost := l.Err() != nil
	l.end(nil)
	if lost {
		return nil
	}
	l.mu.Lock()
	rev := l.rev
	l.mu.Unlock()
	err := l.kv.Delete(ctx, leaseKey, jetstream.LastRevision(rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("bus: resign lease: %w", err)
	}
	return nil
}

// replicas is the replica count of the buckets Open provisioned, for the
// buckets created later (1 when it cannot be read).
func (b *Bus) replicas(ctx context.Context) int {
	st, err := b.presence.kv.Status(ctx)
	if err != nil {
		return 1
	}
	if s, ok := st.(*jetstream.KeyValueBucketStatus); ok && s.Config().Replicas > 0 {
		return s.Config().Replicas
	}
	return 1
}
