package commlog

import "time"

// Direction tells which way a message went.
type Direction string

// Directions of entries.
const (
	Up    Direction = "up"    // device → platform
	Down  Direction = "down"  // platform → device
	Event Direction = "event" // connection events and drops (connected, disconnected, dropped)
)

// Entry is one message of a device's conversation, with what the platform
// made of it.
type Entry struct {
	Seq        uint64    `json:"seq"`
	Time       time.Time `json:"time"`
	ProductID  string    `json:"productId"`
	DeviceName string    `json:"deviceName"`
	Direction  Direction `json:"direction"`
	Topic      string    `json:"topic,omitempty"`
	// Payload is the message text, cut at MaxPayload bytes (Truncated).
	Payload   string `json:"payload,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// Method and ClientToken are read from a JSON payload when present.
	Method      string `json:"method,omitempty"`
	ClientToken string `json:"clientToken,omitempty"`
	// OK and Result are the platform's verdict: for an uplink, the code and
	// status of the reply that answered it (validation result), or why it
	// was dropped; for a downlink, how it was delivered ("delivered",
	// "queued", or the error); for an event, what happened.
	OK     bool   `json:"ok"`
	Result string `json:"result,omitempty"`
	// Kind says what an Event entry is (EventConnected, EventDisconnected,
	// EventDropped, EventSkipped); ClientIP is the device's address on
	// EventConnected. Readers use these, never the Result text.
	Kind     EventKind `json:"kind,omitempty"`
	ClientIP string    `json:"clientIp,omitempty"`
}

// EventKind is the kind of an Event entry.
type EventKind string

// Kinds of Event entries.
const (
	EventConnected    EventKind = "connected"
	EventDisconnected EventKind = "disconnected"
	EventDropped      EventKind = "dropped"
	EventSkipped      EventKind = "skipped" // a slow watcher missed entries
)
