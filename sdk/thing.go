package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// Reply codes of the thing-model protocol (PROTOCOL.md §5.8).
const (
	CodeOK             = 0
	CodeNotJSON        = 400
	CodeUnknown        = 403
	CodeBadTimestamp   = 405
	CodeBadValue       = 406
	CodeInternalError  = 503
	eventVersion       = "1.0"
	methodControl      = "control"
	methodAction       = "action"
	methodControlReply = "control_reply"
	methodActionReply  = "action_reply"
)

// Reply is the platform's answer to a thing-model request.
type Reply struct {
	Method      string          `json:"method"`
	ClientToken string          `json:"clientToken"`
	Code        int             `json:"code"`
	Status      string          `json:"status"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// ReplyError is a reply with a non-zero code.
type ReplyError struct {
	Method string
	Code   int
	Status string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("sdk: %s refused: code %d: %s", e.Method, e.Code, e.Status)
}

// Status is the answer to GetStatus: the last reported values and the
// pending control (desired values the device has not acknowledged yet).
type Status struct {
	Reply
	Reported map[string]any
	Control  map[string]any
}

// ControlHandler applies a control (cloud → device property values) and
// returns the code and status of the control_reply (0 on success).
type ControlHandler func(ctx context.Context, params map[string]any) (code int, status string)

// ActionHandler runs an action and returns the code, status and output
// parameters of the action_reply.
type ActionHandler func(ctx context.Context, params map[string]any) (code int, status string, response map[string]any)

// thing is the thing-model endpoint of one device identity: the client's
// own device, or a sub-device multiplexed over a gateway's connection.
type thing struct {
	c       *Client
	pid, dn string

	mu      sync.RWMutex
	control ControlHandler
	actions map[string]ActionHandler
}

func newThing(c *Client, pid, dn string) *thing {
	return &thing{c: c, pid: pid, dn: dn, actions: map[string]ActionHandler{}}
}

// downlinks returns the thing-model downlink topics of t with their
// handlers.
func (t *thing) downlinks() map[string]Handler {
	return map[string]Handler{
		protocol.ThingDown(protocol.KindProperty, t.pid, t.dn): t.onProperty,
		protocol.ThingDown(protocol.KindEvent, t.pid, t.dn):    t.onReply,
		protocol.ThingDown(protocol.KindAction, t.pid, t.dn):   t.onAction,
	}
}

func (t *thing) setControl(h ControlHandler) {
	t.mu.Lock()
	t.control = h
	t.mu.Unlock()
}

func (t *thing) setAction(id string, h ActionHandler) {
	t.mu.Lock()
	t.actions[id] = h
	t.mu.Unlock()
}

// downMsg is the envelope of a `$thing/down/...` message.
type downMsg struct {
	Method      string          `json:"method"`
	ClientToken flexString      `json:"clientToken"`
	ActionID    string          `json:"actionId"`
	Params      json.RawMessage `json:"params"` // decoded by params, for the requests that carry them
}

// params decodes the params of a control or an action call (absent or
// null: nil).
func (d downMsg) params() (map[string]any, error) {
	if len(d.Params) == 0 {
		return nil, nil
	}
	var p map[string]any
	if err := json.Unmarshal(d.Params, &p); err != nil {
		return nil, fmt.Errorf("sdk: bad downlink params: %w", err)
	}
	return p, nil
}

// flexString accepts a JSON string or number (some servers send numeric
// client tokens).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("clientToken is neither string nor number: %w", err)
	}
	*s = flexString(n)
	return nil
}

// parseDown decodes a downlink thing-model message.
func parseDown(payload []byte) (downMsg, error) {
	var m downMsg
	if err := json.Unmarshal(payload, &m); err != nil {
		return downMsg{}, fmt.Errorf("sdk: bad downlink: %w", err)
	}
	return m, nil
}

// OnControl sets the handler of control messages; the client answers each
// with a control_reply carrying the handler's code and status. Without a
// handler, controls are answered with code 503.
func (c *Client) OnControl(h ControlHandler) { c.self.setControl(h) }

// OnAction sets the handler of action id; the client answers each call
// with an action_reply. Unknown actions are answered with code 403.
func (c *Client) OnAction(id string, h ActionHandler) { c.self.setAction(id, h) }

// addThingSubscriptions records the thing-model downlink subscriptions of
// the client's own device.
func (c *Client) addThingSubscriptions() {
	for topic, h := range c.self.downlinks() {
		c.subs[topic] = subscription{qos: 1, handler: h}
	}
}

func (c *Client) newToken() string {
	return c.tokenPrefix + "-" + strconv.FormatUint(c.tokenSeq.Add(1), 10)
}

// onReply routes a reply to its waiter by clientToken.
func (t *thing) onReply(_ context.Context, m Message) {
	d, err := parseDown(m.Payload)
	if err != nil {
		t.c.log.Warn("dropping downlink", "topic", m.Topic, "err", err)
		return
	}
	t.deliverReply(d, m)
}

// deliverReply hands reply m, parsed as d, to the request waiting for it.
func (t *thing) deliverReply(d downMsg, m Message) {
	if d.ClientToken == "" || !t.c.waiters.deliver(string(d.ClientToken), m.Payload) {
		t.c.log.Debug("reply without waiter", "topic", m.Topic, "method", d.Method, "clientToken", d.ClientToken)
	}
}

func (t *thing) onProperty(ctx context.Context, m Message) {
	d, err := parseDown(m.Payload)
	if err != nil {
		t.c.log.Warn("dropping downlink", "topic", m.Topic, "err", err)
		return
	}
	if d.Method != methodControl {
		t.deliverReply(d, m)
		return
	}
	params, err := d.params()
	if err != nil {
		t.c.log.Warn("dropping downlink", "topic", m.Topic, "err", err)
		return
	}
	t.mu.RLock()
	h := t.control
	t.mu.RUnlock()
	code, status := CodeInternalError, "control not handled by the device"
	if h != nil {
		code, status = h(ctx, params)
	}
	t.sendReply(ctx, protocol.KindProperty, map[string]any{
		"method": methodControlReply, "clientToken": string(d.ClientToken), "code": code, "status": status,
	})
}

func (t *thing) onAction(ctx context.Context, m Message) {
	d, err := parseDown(m.Payload)
	if err != nil {
		t.c.log.Warn("dropping downlink", "topic", m.Topic, "err", err)
		return
	}
	if d.Method != methodAction {
		t.deliverReply(d, m)
		return
	}
	params, err := d.params()
	if err != nil {
		t.c.log.Warn("dropping downlink", "topic", m.Topic, "err", err)
		return
	}
	t.mu.RLock()
	h := t.actions[d.ActionID]
	t.mu.RUnlock()
	code, status, resp := CodeUnknown, "action "+d.ActionID+" not supported", map[string]any{}
	if h != nil {
		code, status, resp = h(ctx, params)
		if resp == nil {
			resp = map[string]any{}
		}
	}
	t.sendReply(ctx, protocol.KindAction, map[string]any{
		"method": methodActionReply, "clientToken": string(d.ClientToken), "code": code, "status": status,
		"response": resp,
	})
}

func (t *thing) sendReply(ctx context.Context, kind string, body map[string]any) {
	b, err := json.Marshal(body)
	if err == nil {
		err = t.c.Publish(ctx, protocol.ThingUp(kind, t.pid, t.dn), 1, b)
	}
	if err != nil {
		t.c.log.Warn("reply not sent", "method", body["method"], "err", err)
	}
}

// request publishes a thing-model request on `$thing/up/{kind}` and waits
// for the reply with the same clientToken.
func (t *thing) request(ctx context.Context, kind, method string, body map[string]any) (Reply, []byte, error) {
	c := t.c
	token := c.newToken()
	body["method"] = method
	body["clientToken"] = token
	b, err := json.Marshal(body)
	if err != nil {
		return Reply{}, nil, fmt.Errorf("sdk: %s: %w", method, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	ch, done := c.waiters.add(token)
	defer done()
	if err := c.Publish(ctx, protocol.ThingUp(kind, t.pid, t.dn), 1, b); err != nil {
		return Reply{}, nil, fmt.Errorf("sdk: %s: %w", method, err)
	}
	p, err := wait(ctx, ch)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	if err != nil {
		return Reply{}, nil, fmt.Errorf("sdk: %s: %w", method, err)
	}
	var r Reply
	if err := json.Unmarshal(p, &r); err != nil {
		return Reply{}, p, fmt.Errorf("sdk: %s: bad reply: %w", method, err)
	}
	if r.Code != CodeOK {
		return r, p, &ReplyError{Method: method, Code: r.Code, Status: r.Status}
	}
	return r, p, nil
}

func (t *thing) reportProperties(ctx context.Context, params map[string]any) (Reply, error) {
	r, _, err := t.request(ctx, protocol.KindProperty, "report",
		map[string]any{"timestamp": time.Now().Unix(), "params": params})
	return r, err
}

func (t *thing) getStatus(ctx context.Context) (Status, error) {
	r, p, err := t.request(ctx, protocol.KindProperty, "get_status",
		map[string]any{"type": "report", "showmeta": 0})
	if err != nil {
		return Status{Reply: r}, err
	}
	var body struct {
		Data struct {
			Reported map[string]any `json:"reported"`
			Control  map[string]any `json:"control"`
		} `json:"data"`
	}
	if err := json.Unmarshal(p, &body); err != nil {
		return Status{Reply: r}, fmt.Errorf("sdk: get_status: bad data: %w", err)
	}
	return Status{Reply: r, Reported: body.Data.Reported, Control: body.Data.Control}, nil
}

func (t *thing) clearControl(ctx context.Context) (Reply, error) {
	r, _, err := t.request(ctx, protocol.KindProperty, "clear_control", map[string]any{})
	return r, err
}

func (t *thing) reportInfo(ctx context.Context, info map[string]any) (Reply, error) {
	r, _, err := t.request(ctx, protocol.KindProperty, "report_info", map[string]any{"params": info})
	return r, err
}

func (t *thing) postEvent(ctx context.Context, id, typ string, params map[string]any) (Reply, error) {
	if params == nil {
		params = map[string]any{}
	}
	r, _, err := t.request(ctx, protocol.KindEvent, "event_post", map[string]any{
		"version": eventVersion, "eventId": id, "type": typ, "timestamp": time.Now().Unix(), "params": params,
	})
	return r, err
}

// ReportProperties reports property values (method report, §5.1) and
// waits for the report_reply. A non-zero reply code is a *ReplyError.
func (c *Client) ReportProperties(ctx context.Context, params map[string]any) (Reply, error) {
	return c.self.reportProperties(ctx, params)
}

// GetStatus asks for the latest reported values and the pending control
// (get_status, §5.3 and §13.5).
func (c *Client) GetStatus(ctx context.Context) (Status, error) { return c.self.getStatus(ctx) }

// ClearControl drops the pending control on the platform (clear_control).
func (c *Client) ClearControl(ctx context.Context) (Reply, error) { return c.self.clearControl(ctx) }

// ReportInfo reports device information (report_info, §5.6): for example
// module_hardinfo, module_softinfo, fw_ver, imei, lat, lon, mac,
// device_label.
func (c *Client) ReportInfo(ctx context.Context, info map[string]any) (Reply, error) {
	return c.self.reportInfo(ctx, info)
}

// PostEvent posts event id of type typ ("info", "alert" or "fault") with
// its parameters (event_post, §5.4) and waits for the event_reply.
func (c *Client) PostEvent(ctx context.Context, id, typ string, params map[string]any) (Reply, error) {
	return c.self.postEvent(ctx, id, typ, params)
}
