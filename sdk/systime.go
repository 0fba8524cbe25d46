package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// sysTimeKey is the waiter key of `$sys` time replies, which carry no
// clientToken; ServerTime runs one request at a time.
const sysTimeKey = "$sys/time"

// ErrBadTimeReply: the `$sys` time reply has no usable time.
var ErrBadTimeReply = errors.New("sdk: bad $sys time reply")

// timeReply is `{"type":"get","time":s,"ntptime1":ms,"ntptime2":ms}`.
type timeReply struct {
	Type     string `json:"type"`
	Time     int64  `json:"time"`
	NTPTime1 int64  `json:"ntptime1"`
	NTPTime2 int64  `json:"ntptime2"`
}

func parseTimeReply(p []byte) (timeReply, error) {
	var r timeReply
	if err := json.Unmarshal(p, &r); err != nil {
		return timeReply{}, fmt.Errorf("%w: %w", ErrBadTimeReply, err)
	}
	if r.Time <= 0 && (r.NTPTime1 <= 0 || r.NTPTime2 <= 0) {
		return timeReply{}, fmt.Errorf("%w: no time", ErrBadTimeReply)
	}
	return r, nil
}

// serverNow estimates the server's clock at the local instant received,
// NTP style: with t0 the request's send time, t1/t2 the server's receive
// and send times and t3 the reply's receive time, the offset is
// ((t1−t0)+(t2−t3))/2. Without ntptime1/2 it falls back to time plus half
// the round trip.
func serverNow(sent, received time.Time, r timeReply) time.Time {
	if r.NTPTime1 > 0 && r.NTPTime2 > 0 {
		t0, t3 := sent.UnixNano(), received.UnixNano()
		t1, t2 := r.NTPTime1*int64(time.Millisecond), r.NTPTime2*int64(time.Millisecond)
		offset := ((t1 - t0) + (t2 - t3)) / 2
		return received.Add(time.Duration(offset))
	}
	return time.Unix(r.Time, 0).Add(received.Sub(sent) / 2)
}

// ServerTime asks the platform for its time (`$sys/operation`, §13.8) and
// returns the server's clock now, corrected for the network delay. Use
// time.Until/Sub on it to learn the local clock's offset.
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	c.timeMu.Lock()
	defer c.timeMu.Unlock()
	pid, dn := c.cfg.ProductID, c.cfg.DeviceName
	result := protocol.FamilyTopic(protocol.FamilySys, protocol.Down, pid, dn)
	c.mu.Lock()
	_, subscribed := c.subs[result]
	c.mu.Unlock()
	if !subscribed {
		if err := c.Subscribe(ctx, result, 0, c.onSys); err != nil {
			return time.Time{}, fmt.Errorf("sdk: server time: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	ch, done := c.waiters.add(sysTimeKey)
	defer done()
	sent := time.Now()
	req := []byte(`{"type":"get","resource":["time"]}`)
	if err := c.Publish(ctx, protocol.FamilyTopic(protocol.FamilySys, protocol.Up, pid, dn), 0, req); err != nil {
		return time.Time{}, fmt.Errorf("sdk: server time: %w", err)
	}
	p, err := wait(ctx, ch)
	received := time.Now()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("sdk: server time: %w", err)
	}
	r, err := parseTimeReply(p)
	if err != nil {
		return time.Time{}, err
	}
	return serverNow(sent, received, r), nil
}

func (c *Client) onSys(_ context.Context, m Message) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(m.Payload, &head); err != nil || head.Type != "get" {
		c.log.Debug("ignoring $sys message", "payload", string(m.Payload))
		return
	}
	c.waiters.deliver(sysTimeKey, m.Payload)
}
