package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// Event types of the thing model (PROTOCOL.md §6).
const (
	EventInfo  = "info"
	EventAlert = "alert"
	EventFault = "fault"
)

// Event is one event of PostEvents.
type Event struct {
	// ID is the event id of the thing model.
	ID string
	// Type is EventInfo, EventAlert or EventFault and must match the model.
	Type string
	// Params are the event's parameters (nil: none).
	Params map[string]any
	// Time is when the event happened; zero means now. It is sent in
	// milliseconds, as the official SDKs do.
	Time time.Time
}

// errNoEvents is returned by PostEvents for an empty batch.
var errNoEvents = errors.New("sdk: events_post: no events")

// PostEvents posts several events in one events_post message (PROTOCOL.md
// §13.5) and waits for the events_reply. The platform accepts or refuses
// the batch as a whole: a refused batch is a *ReplyError naming the first
// bad event in its Status.
func (c *Client) PostEvents(ctx context.Context, events []Event) (Reply, error) {
	return c.self.postEvents(ctx, events)
}

func (t *thing) postEvents(ctx context.Context, events []Event) (Reply, error) {
	if len(events) == 0 {
		return Reply{}, errNoEvents
	}
	now := time.Now()
	items := make([]map[string]any, 0, len(events))
	for _, e := range events {
		if e.ID == "" {
			return Reply{}, fmt.Errorf("sdk: events_post: event without id")
		}
		params := e.Params
		if params == nil {
			params = map[string]any{}
		}
		at := e.Time
		if at.IsZero() {
			at = now
		}
		items = append(items, map[string]any{
			"eventId": e.ID, "type": e.Type, "timestamp": at.UnixMilli(), "params": params,
		})
	}
	r, _, err := t.request(ctx, protocol.KindEvent, "events_post", map[string]any{"events": items})
	return r, err
}
