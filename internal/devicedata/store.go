// Package devicedata is the thing-model side of a device: the product's
// versioned thing model, the latest reported property values, the pending
// (desired) control, device info, property and event history, and action
// calls. Writes from devices are group-committed: a goroutine collects them
// for a few milliseconds and writes one transaction, and a caller learns that
// its write is durable only once that transaction committed. The store
// stages property reports (cheap to commit) and the same goroutine compacts
// them into history and latest values between batches.
package devicedata

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors of the package; adapters and the API map them with errors.Is.
var (
	// ErrNoModel: the product has no thing model defined.
	ErrNoModel = errors.New("product has no thing model")
	// ErrDeviceOffline: the device cannot be reached (Publisher must wrap it).
	ErrDeviceOffline = errors.New("device offline")
	// ErrActionTimeout: the device did not answer an action call in time.
	ErrActionTimeout = errors.New("action call timed out")
	// ErrStopped: the service is not running (writes are refused).
	ErrStopped = errors.New("devicedata: service stopped")
	// ErrBadContext: a paging context is not one this service returned.
	ErrBadContext = errors.New("invalid paging context")
)

// ModelRecord is the stored thing model of a product: its latest version.
type ModelRecord struct {
	ProductID string
	Version   int64
	Schema    string
	CreatedAt time.Time // when the first version was stored
	UpdatedAt time.Time // when the latest version was stored
}

// PropertyValue is the latest reported value of one property.
type PropertyValue struct {
	ID        string
	Value     json.RawMessage
	UpdatedAt time.Time
}

// Control is a device's pending control: merged property values the
// device has not acknowledged yet.
type Control struct {
	Params      json.RawMessage // JSON object
	ClientToken string
	UpdatedAt   time.Time
}

// HistoryPoint is one stored value of a property.
type HistoryPoint struct {
	Seq   int64
	At    time.Time
	Value json.RawMessage
}

// EventRecord is one event a device posted.
type EventRecord struct {
	Seq        int64 // assigned by the store
	ProductID  string
	DeviceName string
	EventID    string
	Type       string
	At         time.Time
	Params     json.RawMessage
}

// Report is one accepted property report.
type Report struct {
	ProductID  string
	DeviceName string
	At         time.Time
	Values     []PropertyValue // UpdatedAt is ignored: At applies
}

// Info is a device's self-description (report_info params).
type Info struct {
	ProductID  string
	DeviceName string
	Info       json.RawMessage
	At         time.Time
}

// ControlChange changes a device's pending control. With Params set, the
// values are merged into the pending control and ClientToken replaces its
// token. With Params nil, the pending control is removed: always when
// ClientToken is empty, otherwise only if its token equals ClientToken.
type ControlChange struct {
	ProductID   string
	DeviceName  string
	Params      map[string]json.RawMessage
	ClientToken string
	At          time.Time
}

// Batch is a set of writes committed in one transaction, in this order:
// reports, events, infos, controls (each in slice order). Raw and Replies
// go to the RecordStore in a second transaction of the same group commit.
type Batch struct {
	Reports  []Report
	Events   []EventRecord
	Infos    []Info
	Controls []ControlChange
	Raw      []RawRecord
	Replies  []CallReply
}

func (b *Batch) append(o Batch) {
	b.Reports = append(b.Reports, o.Reports...)
	b.Events = append(b.Events, o.Events...)
	b.Infos = append(b.Infos, o.Infos...)
	b.Controls = append(b.Controls, o.Controls...)
	b.Raw = append(b.Raw, o.Raw...)
	b.Replies = append(b.Replies, o.Replies...)
}

func (b *Batch) size() int {
	n := len(b.Events) + len(b.Infos) + len(b.Controls) + len(b.Raw) + len(b.Replies)
	for _, r := range b.Reports {
		n += len(r.Values)
	}
	return n
}

// HistoryQuery selects property history, oldest first.
type HistoryQuery struct {
	ProductID, DeviceName, PropertyID string
	From, To                          time.Time // inclusive
	// After continues a listing: only points after (AfterTime, AfterSeq).
	AfterTime time.Time
	AfterSeq  int64
	Limit     int
}

// EventQuery selects event history, newest first.
type EventQuery struct {
	ProductID, DeviceName string
	EventID, Type         string // "" matches all
	From, To              time.Time
	// Before continues a listing: only events before (BeforeTime, BeforeSeq).
	BeforeTime time.Time
	BeforeSeq  int64
	Limit      int
}

// Store persists thing models and device data. Implementations live in
// internal/store (sqlstore); the conformance tests are in storetest.
type Store interface {
	// PutModel stores schema as the product's next model version and returns
	// it. It fails with an error wrapping a registry not-found error when the
	// product does not exist.
	PutModel(ctx context.Context, productID, schema string, at time.Time) (int64, error)
	// LatestModel returns the product's latest model, or ErrNoModel.
	LatestModel(ctx context.Context, productID string) (ModelRecord, error)

	// WriteBatch applies b in one transaction. A report value replaces the
	// latest value only if it is not older than it. Reports may be staged
	// (committed, and visible to every read, but not compacted yet).
	WriteBatch(ctx context.Context, b Batch) error
	// CompactReports moves up to limit of the oldest staged reports into
	// the history and the latest values, in one transaction, and returns how
	// many it moved: fewer than limit when no more were staged. Reads give
	// the same answers before and after. It may run concurrently with
	// writes, reads and other compactions (of other nodes); each staged
	// report is moved once.
	CompactReports(ctx context.Context, limit int) (moved int, err error)

	// LatestValues returns the latest reported values of a device, by id.
	LatestValues(ctx context.Context, productID, deviceName string) ([]PropertyValue, error)
	// PendingControl returns the pending control and whether there is one.
	PendingControl(ctx context.Context, productID, deviceName string) (Control, bool, error)
	// DeviceInfo returns the last report_info params and whether there are any.
	DeviceInfo(ctx context.Context, productID, deviceName string) (Info, bool, error)
	// PropertyHistory returns up to q.Limit points.
	PropertyHistory(ctx context.Context, q HistoryQuery) ([]HistoryPoint, error)
	// EventHistory returns up to q.Limit events and the total matching q
	// without the Before cursor.
	EventHistory(ctx context.Context, q EventQuery) ([]EventRecord, int64, error)
	// DeleteHistoryBefore deletes property and event history older than t
	// and returns how many rows went.
	DeleteHistoryBefore(ctx context.Context, t time.Time) (int64, error)
}
