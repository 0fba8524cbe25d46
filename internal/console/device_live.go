package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/commlog"
)

// Timing of the live stream.
const (
	devLiveHeartbeat = 15 * time.Second // comment line that keeps proxies from closing the stream
	devLivePoll      = 5 * time.Second  // data and status refresh when there is no Traffic
	devLiveRetryMS   = 3000             // EventSource reconnect delay
)

// devSSE writes server-sent events and flushes each one.
type devSSE struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// event sends one event whose data is v as JSON (one line: JSON has no
// raw newlines).
func (s devSSE) event(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// comment sends an SSE comment line.
func (s devSSE) comment(text string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return err
	}
	return s.rc.Flush()
}

// devLiveStatus is the data of a "status" event.
type devLiveStatus struct {
	Online bool `json:"online"`
}

// deviceLive streams GET /console/devices/{pid}/{dn}/live: "log" events
// (commlog entries), "data" events (DescribeDeviceData snapshots when an
// entry suggests values changed) and "status" events ({"online":bool}),
// until the client goes away or the request's context ends.
func (s *Server) deviceLive(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	dev, err := s.describeDevice(ctx, pid, dn)
	if err != nil {
		writeJSON(w, devActionStatus(err), map[string]string{"error": devActionText(err)})
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := devSSE{w: w, rc: rc}
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", devLiveRetryMS); err != nil {
		return
	}

	var entries <-chan commlog.Entry
	var poll <-chan time.Time
	if s.cfg.Traffic != nil {
		entries = s.cfg.Traffic.Watch(ctx, pid, dn)
	} else {
		t := time.NewTicker(devLivePoll)
		defer t.Stop()
		poll = t.C
	}
	heartbeat := time.NewTicker(devLiveHeartbeat)
	defer heartbeat.Stop()

	online := dev.Online()
	if out.event("status", devLiveStatus{Online: online}) != nil || s.devSendData(ctx, out, pid, dn) != nil {
		return
	}
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-heartbeat.C:
			err = out.comment("heartbeat")
		case e, ok := <-entries:
			if !ok {
				return
			}
			err = out.event("log", e)
			if err == nil && devChangesData(e) {
				err = s.devSendData(ctx, out, pid, dn)
			}
			if err == nil && e.Direction == commlog.Event {
				on, known := devPresence(e)
				if !known {
					if d, derr := s.describeDevice(ctx, pid, dn); derr == nil {
						on, known = d.Online(), true
					}
				}
				if known {
					online = on
					err = out.event("status", devLiveStatus{Online: online})
				}
			}
		case <-poll:
			err = s.devSendData(ctx, out, pid, dn)
			if d, derr := s.describeDevice(ctx, pid, dn); err == nil && derr == nil && d.Online() != online {
				online = d.Online()
				err = out.event("status", devLiveStatus{Online: online})
			}
		}
		if err != nil {
			s.log.Debug("console live stream ended", "product", pid, "device", dn, "err", err)
			return
		}
	}
}

// devSendData sends a "data" event with the device's latest values; a failed
// DescribeDeviceData is logged and skipped (the stream goes on).
func (s *Server) devSendData(ctx context.Context, out devSSE, pid, dn string) error {
	data, err := s.devData(ctx, pid, dn)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Debug("console live: no device data", "product", pid, "device", dn, "err", err)
		return nil
	}
	return out.event("data", data)
}

// devChangesData reports whether an entry may have changed reported values:
// an uplink on the property topic (report, control_reply, ...) or the
// shadow topic.
func devChangesData(e commlog.Entry) bool {
	return e.Direction == commlog.Up &&
		(strings.HasPrefix(e.Topic, "$thing/up/property/") || strings.HasPrefix(e.Topic, "$shadow/operation/"))
}

// devPresence reads a connection event of the live log: known is false
// when the entry says nothing about presence (a dropped message, skipped
// entries).
func devPresence(e commlog.Entry) (online, known bool) {
	if e.Direction != commlog.Event {
		return false, false
	}
	switch e.Kind {
	case commlog.EventConnected:
		return true, true
	case commlog.EventDisconnected:
		return false, true
	}
	return false, false
}

// devClientIP finds the address of the device's latest connection among
// entries (oldest first); "" if no connection event is there.
func devClientIP(entries []commlog.Entry) string {
	for i := len(entries) - 1; i >= 0; i-- {
		if e := entries[i]; e.Direction == commlog.Event && e.Kind == commlog.EventConnected {
			return e.ClientIP
		}
	}
	return ""
}
