package devicedata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// ErrBadFence: an alert fence event with a missing or invalid field.
var ErrBadFence = errors.New("invalid alert fence event")

// AlertFence is the data of an alert_fence_event (PROTOCOL.md §5.7).
type AlertFence struct {
	AlertType      string // "In" or "Out"
	AlertCondition string // e.g. "InOrOut", "In", "Out"
	FenceName      string
	Longitude      float64
	Latitude       float64
	AlarmTime      time.Time // zero: now
}

// alertFenceData is the "data" object of the downlink, in the field order
// and names of §5.7.
type alertFenceData struct {
	AlertType      string  `json:"alert_type"`
	AlertCondition string  `json:"alert_condition"`
	AlarmTime      int64   `json:"alarm_time"`
	FenceName      string  `json:"fence_name"`
	Long           float64 `json:"long"`
	Lat            float64 `json:"lat"`
}

// SendAlertFence sends an alert_fence_event on $thing/down/service and
// records it as a call (Method CallAlertFence); the device's
// alert_fence_event_reply is stored in that record (see Call). It returns
// the clientToken. An offline device fails with ErrDeviceOffline.
func (s *Service) SendAlertFence(ctx context.Context, productID, deviceName string, f AlertFence) (string, error) {
	switch {
	case f.AlertType == "":
		return "", fmt.Errorf("%w: AlertType is required", ErrBadFence)
	case f.FenceName == "":
		return "", fmt.Errorf("%w: FenceName is required", ErrBadFence)
	case f.Longitude < -180 || f.Longitude > 180:
		return "", fmt.Errorf("%w: Longitude must be within -180..180", ErrBadFence)
	case f.Latitude < -90 || f.Latitude > 90:
		return "", fmt.Errorf("%w: Latitude must be within -90..90", ErrBadFence)
	}
	now := s.now()
	at := f.AlarmTime
	if at.IsZero() {
		at = now
	}
	data, err := json.Marshal(alertFenceData{
		AlertType: f.AlertType, AlertCondition: f.AlertCondition, AlarmTime: at.Unix(),
		FenceName: f.FenceName, Long: f.Longitude, Lat: f.Latitude,
	})
	if err != nil {
		return "", fmt.Errorf("encode alert fence event: %w", err)
	}
	token := NewClientToken("fence")
	payload, err := json.Marshal(struct {
		Method      string          `json:"method"`
		ClientToken string          `json:"clientToken"`
		Timestamp   int64           `json:"timestamp"`
		Data        json.RawMessage `json:"data"`
	}{CallAlertFence, token, now.Unix(), data})
	if err != nil {
		return "", fmt.Errorf("encode alert fence event: %w", err)
	}
	if err := s.putCall(ctx, CallRecord{
		ProductID: productID, DeviceName: deviceName, ClientToken: token, Method: CallAlertFence,
		Name: f.FenceName, Request: data, CreatedAt: now,
	}); err != nil {
		return "", err
	}
	if err := s.pub.Publish(ctx, productID, deviceName, protocol.ThingDown(protocol.KindService, productID, deviceName), payload, 0); err != nil {
		return token, fmt.Errorf("send alert fence event: %w", err)
	}
	return token, nil
}
