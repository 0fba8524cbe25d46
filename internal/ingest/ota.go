package ingest

import (
	"context"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/protocol"
)

// OTAReports handles device messages on $ota/report/{pid}/{dn}
// (implemented by *ota.Service).
type OTAReports interface {
	HandleReport(ctx context.Context, productID, deviceName string, payload []byte)
}

// WithOTA routes $ota uplinks to OTA and every other uplink to Next.
type WithOTA struct {
	Next interface {
		HandleUplink(ctx context.Context, id devauth.Identity, topic string, payload []byte)
	}
	OTA OTAReports
}

// HandleUplink implements broker.Handler.
func (w WithOTA) HandleUplink(ctx context.Context, id devauth.Identity, topic string, payload []byte) {
	t, err := protocol.ParseTopic(topic)
	if err == nil && t.Family == protocol.FamilyOTA && t.Direction == protocol.Up {
		w.OTA.HandleReport(ctx, t.ProductID, t.DeviceName, payload)
		return
	}
	w.Next.HandleUplink(ctx, id, topic, payload)
}
