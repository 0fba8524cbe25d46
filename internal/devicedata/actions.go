package devicedata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// ErrUnknownCall: an action_reply whose clientToken matches no pending call.
var ErrUnknownCall = errors.New("no pending action call with this clientToken")

// ActionResult is a device's answer to an action call.
type ActionResult struct {
	ClientToken string
	Code        int
	Status      string
	Output      json.RawMessage // the reply's response object
	// OutputErr is set when Output does not match the action's output
	// definition.
	OutputErr error
}

type callKey struct{ productID, deviceName, token string }

type call struct {
	actionID string
	expires  time.Time
	done     chan ActionResult // buffered(1)
}

// asyncCallTTL is how long an asynchronous call waits for its reply.
const asyncCallTTL = 10 * time.Minute

// CallAction validates input against the action's input definition, sends
// the action to the device and, with wait, waits for its action_reply (up to
// the configured timeout: ErrActionTimeout). An offline device fails with
// ErrDeviceOffline. Without wait it returns once sent (Status "Sent").
func (s *Service) CallAction(ctx context.Context, productID, deviceName, actionID string, input []byte, wait bool) (ActionResult, error) {
	m, err := s.Model(ctx, productID)
	if err != nil {
		return ActionResult{}, err
	}
	if len(input) == 0 {
		input = []byte("{}")
	}
	if _, err := objectParams(input); err != nil {
		return ActionResult{}, err
	}
	if err := m.ValidateActionInput(actionID, input); err != nil {
		return ActionResult{}, err
	}
	now := s.now()
	token := NewClientToken("act")
	payload, err := json.Marshal(struct {
		Method      string          `json:"method"`
		ClientToken string          `json:"clientToken"`
		ActionID    string          `json:"actionId"`
		Timestamp   int64           `json:"timestamp"`
		Params      json.RawMessage `json:"params"`
	}{"action", token, actionID, now.Unix(), compact(input)})
	if err != nil {
		return ActionResult{}, fmt.Errorf("encode action: %w", err)
	}
	key := callKey{productID, deviceName, token}
	ttl := asyncCallTTL
	if wait {
		ttl = s.actionTTL
	}
	c := &call{actionID: actionID, expires: now.Add(ttl), done: make(chan ActionResult, 1)}
	s.mu.Lock()
	for k, old := range s.calls {
		if now.After(old.expires) {
			delete(s.calls, k)
		}
	}
	s.calls[key] = c
	s.mu.Unlock()
	forget := func() {
		s.mu.Lock()
		delete(s.calls, key)
		s.mu.Unlock()
	}
	if err := s.putCall(ctx, CallRecord{
		ProductID: productID, DeviceName: deviceName, ClientToken: token, Method: CallAction, Name: actionID,
		Request: compact(input), CreatedAt: now,
	}); err != nil {
		forget()
		return ActionResult{}, err
	}
	if err := s.pub.Publish(ctx, productID, deviceName, protocol.ThingDown(protocol.KindAction, productID, deviceName), payload, 0); err != nil {
		forget()
		return ActionResult{}, fmt.Errorf("send action %s: %w", actionID, err)
	}
	if !wait {
		return ActionResult{ClientToken: token, Status: "Sent"}, nil
	}
	t := time.NewTimer(s.actionTTL)
	defer t.Stop()
	select {
	case r := <-c.done:
		return r, nil
	case <-t.C:
		forget()
		return ActionResult{ClientToken: token}, fmt.Errorf("action %s: %w", actionID, ErrActionTimeout)
	case <-ctx.Done():
		forget()
		return ActionResult{ClientToken: token}, ctx.Err()
	}
}

// ActionReply hands a device's action_reply to the pending call with its
// clientToken; the response is validated against the action's output
// definition (ActionResult.OutputErr, also returned). The reply is also
// stored in the call's record (see Call), which is how the result of an
// asynchronous call is read.
//
// When no call waits for it on this node: on a single node (no relay) it
// returns ErrUnknownCall (the record, if any, is updated still); in a
// cluster the call may have been made on another node, which this node
// cannot know, so the reply is handed to the relay (see SetRelay) and
// ActionReply returns nil, or the relay's error.
func (s *Service) ActionReply(ctx context.Context, productID, deviceName string, r ActionResult) error {
	key := callKey{productID, deviceName, r.ClientToken}
	s.mu.Lock()
	c, ok := s.calls[key]
	delete(s.calls, key)
	relay := s.relay
	s.mu.Unlock()
	if r.ClientToken != "" {
		if err := s.DeviceReply(ctx, CallReply{
			ProductID: productID, DeviceName: deviceName, ClientToken: r.ClientToken,
			Code: r.Code, Status: r.Status, Response: r.Output,
		}); err != nil {
			s.log.Warn("action reply not recorded", "product_id", productID, "device_name", deviceName, "err", err)
		}
	}
	if ok {
		return s.complete(ctx, c, productID, r)
	}
	if relay == nil || r.ClientToken == "" {
		return ErrUnknownCall
	}
	err := relay.Publish(ctx, RelayedActionReply{
		ProductID: productID, DeviceName: deviceName, ClientToken: r.ClientToken,
		Code: r.Code, Status: r.Status, Output: r.Output,
	})
	if err != nil {
		return fmt.Errorf("relay action reply: %w", err)
	}
	return nil
}

// complete validates r against the output definition of c's action and
// hands it to c's caller; it returns the validation error.
func (s *Service) complete(ctx context.Context, c *call, productID string, r ActionResult) error {
	if m, err := s.Model(ctx, productID); err == nil && len(r.Output) > 0 {
		r.OutputErr = m.ValidateActionOutput(c.actionID, r.Output)
	}
	c.done <- r
	return r.OutputErr
}
