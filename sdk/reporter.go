package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync"
)

// ApplyPendingControl fetches the device's status (get_status) and, when
// the platform holds a control the device missed while offline, applies it
// through the control handler (OnControl), clears it (clear_control) and
// returns the applied params; nil when there was none. Call it after
// Connect, as Tencent's SDKs do at start-up.
func (c *Client) ApplyPendingControl(ctx context.Context) (map[string]any, error) {
	return c.self.applyPendingControl(ctx)
}

// ApplyPendingControl is Client.ApplyPendingControl for a sub-device.
func (s *SubDeviceClient) ApplyPendingControl(ctx context.Context) (map[string]any, error) {
	return s.thing.applyPendingControl(ctx)
}

func (t *thing) applyPendingControl(ctx context.Context) (map[string]any, error) {
	st, err := t.getStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("get_status: %w", err)
	}
	if len(st.Control) == 0 {
		return nil, nil
	}
	t.mu.RLock()
	h := t.control
	t.mu.RUnlock()
	if h == nil {
		return nil, fmt.Errorf("a control is pending but no control handler is set (OnControl)")
	}
	if code, status := h(ctx, st.Control); code != 0 {
		return nil, fmt.Errorf("pending control refused by the handler: code %d: %s", code, status)
	}
	if _, err := t.clearControl(ctx); err != nil {
		return st.Control, fmt.Errorf("clear_control: %w", err)
	}
	return st.Control, nil
}

// PropertyReporter is what a Reporter reports through: a *Client or a
// *SubDeviceClient.
type PropertyReporter interface {
	ReportProperties(ctx context.Context, params map[string]any) (Reply, error)
}

// Reporter reports property values, sending only those that changed since
// the last report the platform accepted. It is safe for concurrent use.
type Reporter struct {
	to   PropertyReporter
	mu   sync.Mutex
	last map[string]string // property id -> JSON of the last accepted value
}

// NewReporter returns a Reporter that reports through to.
func NewReporter(to PropertyReporter) *Reporter {
	return &Reporter{to: to, last: map[string]string{}}
}

// Report sends the values of params that differ from the last accepted ones
// (compared by their JSON encoding, so 1 and 1.0 are equal). With nothing
// changed it sends nothing and returns changed=false. Only a successful
// reply updates the remembered values.
func (r *Reporter) Report(ctx context.Context, params map[string]any) (changed bool, reply Reply, err error) {
	diff := map[string]any{}
	enc := map[string]string{}
	r.mu.Lock()
	for id, v := range params {
		b, err := json.Marshal(v)
		if err != nil {
			r.mu.Unlock()
			return false, Reply{}, fmt.Errorf("property %s: %w", id, err)
		}
		if s := canonicalJSON(b); r.last[id] != s {
			diff[id] = v
			enc[id] = s
		}
	}
	r.mu.Unlock()
	if len(diff) == 0 {
		return false, Reply{}, nil
	}
	reply, err = r.to.ReportProperties(ctx, diff)
	if err != nil {
		return true, reply, err
	}
	r.mu.Lock()
	maps.Copy(r.last, enc)
	r.mu.Unlock()
	return true, reply, nil
}

// Forget makes the next Report send every value again (e.g. after the
// platform's data was reset).
func (r *Reporter) Forget() {
	r.mu.Lock()
	clear(r.last)
	r.mu.Unlock()
}

// canonicalJSON re-encodes numbers so that 1 and 1.0 compare equal.
func canonicalJSON(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return string(b)
	}
	return string(out)
}
