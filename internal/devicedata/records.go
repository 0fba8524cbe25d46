package devicedata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrCallNotFound: no call record has this clientToken.
var ErrCallNotFound = errors.New("no call record with this clientToken")

// Methods of the platform calls a device is asked to answer.
const (
	CallAction     = "action"
	CallAlertFence = "alert_fence_event"
)

// DefaultRawKeep is how many raw uplinks are kept per device.
const DefaultRawKeep = 100

// RawRecord is one opaque $thing/up/raw message.
type RawRecord struct {
	Seq        int64 // assigned by the store
	ProductID  string
	DeviceName string
	At         time.Time
	Payload    []byte
}

// CallRecord is a platform call sent to a device (an action, an
// alert_fence_event) and, once it came, the device's reply.
type CallRecord struct {
	ProductID   string
	DeviceName  string
	ClientToken string
	Method      string          // CallAction or CallAlertFence
	Name        string          // the actionId of an action
	Request     json.RawMessage // the action's params, the fence event's data
	CreatedAt   time.Time
	RepliedAt   time.Time // zero until the device replied
	Code        int
	Status      string
	Response    json.RawMessage // the action_reply's response
}

// Replied reports whether the device answered the call.
func (c CallRecord) Replied() bool { return !c.RepliedAt.IsZero() }

// CallReply is a device's reply to a recorded call; it applies only to a
// call not answered yet.
type CallReply struct {
	ProductID, DeviceName, ClientToken string
	At                                 time.Time
	Code                               int
	Status                             string
	Response                           json.RawMessage
}

// RawQuery selects raw uplinks of a device, newest first.
type RawQuery struct {
	ProductID, DeviceName string
	BeforeSeq             int64 // > 0: only records with a smaller Seq
	Limit                 int
}

// RecordStore persists raw uplinks and call records; the SQL stores
// implement it next to Store.
type RecordStore interface {
	// WriteRecords appends raw uplinks (keeping the newest keep per device)
	// and applies call replies, in one transaction.
	WriteRecords(ctx context.Context, raw []RawRecord, replies []CallReply, keep int) error
	// RawRecords returns a device's raw uplinks and how many are stored.
	RawRecords(ctx context.Context, q RawQuery) ([]RawRecord, int64, error)
	// PutCall records a call; an existing record with its token is replaced.
	PutCall(ctx context.Context, c CallRecord) error
	// Call returns one call record, or ErrCallNotFound.
	Call(ctx context.Context, productID, deviceName, clientToken string) (CallRecord, error)
	// DeleteRecordsBefore deletes raw uplinks and call records older than t.
	DeleteRecordsBefore(ctx context.Context, t time.Time) (int64, error)
}

// RawPublisher makes raw uplinks available to rules (e.g. on the bus).
type RawPublisher interface {
	PublishRaw(ctx context.Context, productID, deviceName string, payload []byte) error
}

// records returns the store's RecordStore, or an error naming what is
// missing.
func (s *Service) records() (RecordStore, error) {
	if s.recs == nil {
		return nil, errors.New("devicedata: the store keeps no raw data or call records")
	}
	return s.recs, nil
}

// RawUplink queues an opaque $thing/up/raw payload for storage (done is
// called after the commit) and hands it to the RawPublisher.
func (s *Service) RawUplink(ctx context.Context, productID, deviceName string, payload []byte, done func(error)) error {
	if _, err := s.records(); err != nil {
		return err
	}
	p := make([]byte, len(payload))
	copy(p, payload)
	if s.rawPub != nil {
		if err := s.rawPub.PublishRaw(ctx, productID, deviceName, p); err != nil {
			s.log.Warn("publish raw uplink", "product_id", productID, "device_name", deviceName, "err", err)
		}
	}
	return s.w.submit(ctx, Batch{Raw: []RawRecord{{ProductID: productID, DeviceName: deviceName, At: s.now(), Payload: p}}}, done)
}

// RawData returns a device's stored raw uplinks, newest first, and the
// number stored.
func (s *Service) RawData(ctx context.Context, q RawQuery) ([]RawRecord, int64, error) {
	rs, err := s.records()
	if err != nil {
		return nil, 0, err
	}
	return rs.RawRecords(ctx, q)
}

// Call returns the record of a call sent to a device, or ErrCallNotFound.
func (s *Service) Call(ctx context.Context, productID, deviceName, clientToken string) (CallRecord, error) {
	rs, err := s.records()
	if err != nil {
		return CallRecord{}, err
	}
	return rs.Call(ctx, productID, deviceName, clientToken)
}

// putCall records a call about to be sent (no-op without a RecordStore).
func (s *Service) putCall(ctx context.Context, c CallRecord) error {
	if s.recs == nil {
		return nil
	}
	if err := s.recs.PutCall(ctx, c); err != nil {
		return fmt.Errorf("record %s call: %w", c.Method, err)
	}
	return nil
}

// DeviceReply records a device's reply to a recorded call (e.g.
// alert_fence_event_reply) with the next group commit.
func (s *Service) DeviceReply(ctx context.Context, r CallReply) error {
	if s.recs == nil {
		return nil
	}
	if r.At.IsZero() {
		r.At = s.now()
	}
	return s.w.submit(ctx, Batch{Replies: []CallReply{r}}, func(err error) {
		if err != nil {
			s.log.Error("record device reply", "product_id", r.ProductID, "device_name", r.DeviceName, "err", err)
		}
	})
}
