package devicedata

import (
	"context"
	"encoding/json"
)

// ActionRelay passes an action_reply that no call waits for on the node
// that received it to every node of a cluster (internal/app wires it over
// NATS): the call may have been made on another node.
type ActionRelay interface {
	Publish(ctx context.Context, r RelayedActionReply) error
}

// RelayedActionReply is an action_reply passed between nodes by an
// ActionRelay.
type RelayedActionReply struct {
	ProductID   string          `json:"productId"`
	DeviceName  string          `json:"deviceName"`
	ClientToken string          `json:"clientToken"`
	Code        int             `json:"code"`
	Status      string          `json:"status"`
	Output      json.RawMessage `json:"output,omitempty"`
}

// SetRelay makes ActionReply hand the replies no local call waits for to
// relay, instead of returning ErrUnknownCall. It is set in cluster mode
// only, before the service is used; nil turns relaying off.
func (s *Service) SetRelay(relay ActionRelay) {
	s.mu.Lock()
	s.relay = relay
	s.mu.Unlock()
}

// HandleRelayed completes the call waiting on this node for r, if any,
// as ActionReply does (the output is validated against the action's output
// definition), and reports whether there was one. It does not record the
// reply: the node that received it from the device did. Every node gets
// every relayed reply; at most one has the call.
func (s *Service) HandleRelayed(ctx context.Context, r RelayedActionReply) bool {
	key := callKey{r.ProductID, r.DeviceName, r.ClientToken}
	s.mu.Lock()
	c, ok := s.calls[key]
	delete(s.calls, key)
	s.mu.Unlock()
	if !ok {
		return false
	}
	err := s.complete(ctx, c, r.ProductID, ActionResult{
		ClientToken: r.ClientToken, Code: r.Code, Status: r.Status, Output: r.Output,
	})
	if err != nil {
		s.log.Info("relayed action reply", "product_id", r.ProductID, "device_name", r.DeviceName,
			"client_token", r.ClientToken, "err", err)
	}
	return true
}
