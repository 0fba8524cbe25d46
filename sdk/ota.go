package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/thingo-iot/thingo/protocol"
)

// OTA progress states (PROTOCOL.md §7).
const (
	OTAStateDownloading = "downloading"
	OTAStateBurning     = "burning"
	OTAStateDone        = "done"
	OTAStateFail        = "fail"
)

// OTA failure codes of a "fail" progress report (PROTOCOL.md §7).
const (
	OTACodeDownloadTimeout = -1 // download failed or timed out
	OTACodeFileNotExist    = -2 // HTTP 404
	OTACodeLinkExpired     = -3 // HTTP 403: the signed link expired
	OTACodeMD5Mismatch     = -4
	OTACodeUpdateFailed    = -5 // burning the firmware failed
)

// OTAUpdate is an update_firmware message of `$ota/update`.
type OTAUpdate struct {
	Version  string `json:"version"`
	URL      string `json:"url"`
	MD5      string `json:"md5sum"`
	FileSize int64  `json:"file_size"`
}

// OTAHandler handles an update_firmware push. It runs on its own goroutine;
// ctx is canceled when the client closes. A typical handler calls
// DownloadFirmware, burns the file, then reports burning and done (or fail
// with OTACodeUpdateFailed) with ReportOTAProgress.
type OTAHandler func(ctx context.Context, u OTAUpdate)

// OTAProgress is a report_progress report.
type OTAProgress struct {
	State   string // one of the OTAState* constants
	Percent int    // 0..100 (downloading)
	Code    int    // 0, or an OTACode* for State fail
	Message string
}

// OnFirmwareUpdate subscribes `$ota/update/{pid}/{dn}` at QoS 1 and calls h
// for every update_firmware push (other messages, e.g. report_version_rsp,
// are ignored). Call it before ReportVersion; before Connect it only
// records the subscription.
func (c *Client) OnFirmwareUpdate(ctx context.Context, h OTAHandler) error {
	if h == nil {
		return errors.New("sdk: OnFirmwareUpdate: nil handler")
	}
	topic := protocol.FamilyTopic(protocol.FamilyOTA, protocol.Down, c.cfg.ProductID, c.cfg.DeviceName)
	return c.Subscribe(ctx, topic, 1, c.otaHandler(h))
}

// otaHandler adapts h to the messages of a `$ota/update` topic.
func (c *Client) otaHandler(h OTAHandler) Handler {
	return func(ctx context.Context, m Message) {
		u, ok, err := parseOTAUpdate(m.Payload)
		if err != nil {
			c.log.Warn("bad $ota/update message", "topic", m.Topic, "err", err)
			return
		}
		if ok {
			h(ctx, u)
		}
	}
}

// parseOTAUpdate decodes a `$ota/update` message. ok is false for messages
// other than update_firmware (e.g. report_version_rsp).
func parseOTAUpdate(b []byte) (u OTAUpdate, ok bool, err error) {
	var msg struct {
		Type string `json:"type"`
		OTAUpdate
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return OTAUpdate{}, false, err
	}
	if msg.Type != "update_firmware" {
		return OTAUpdate{}, false, nil
	}
	if msg.URL == "" || msg.Version == "" || msg.FileSize <= 0 {
		return OTAUpdate{}, false, fmt.Errorf("update_firmware without url, version or file_size: %.200q", b)
	}
	return msg.OTAUpdate, true, nil
}

// ReportVersion reports the running firmware version (1-32 characters) on
// `$ota/report` at QoS 1. The platform pushes update_firmware again when an
// upgrade to another version is pending (resume).
func (c *Client) ReportVersion(ctx context.Context, version string) error {
	return c.reportVersion(ctx, c.cfg.ProductID, c.cfg.DeviceName, version)
}

// ReportOTAProgress reports the progress of the upgrade to version:
// downloading at QoS 0, the other states at QoS 1.
func (c *Client) ReportOTAProgress(ctx context.Context, version string, p OTAProgress) error {
	return c.reportOTAProgress(ctx, c.cfg.ProductID, c.cfg.DeviceName, version, p)
}

// reportVersion reports the version of device pid/dn (the client's own
// device or a sub-device of its gateway).
func (c *Client) reportVersion(ctx context.Context, pid, dn, version string) error {
	if len(version) < 1 || len(version) > 32 {
		return fmt.Errorf("sdk: report version: %q is not 1-32 characters", version)
	}
	return c.otaPublish(ctx, pid, dn, 1, map[string]any{"type": "report_version", "report": map[string]any{"version": version}})
}

// reportOTAProgress reports the upgrade progress of device pid/dn.
func (c *Client) reportOTAProgress(ctx context.Context, pid, dn, version string, p OTAProgress) error {
	switch p.State {
	case OTAStateDownloading, OTAStateBurning, OTAStateDone, OTAStateFail:
	default:
		return fmt.Errorf("sdk: report progress: state %q", p.State)
	}
	qos := byte(1)
	if p.State == OTAStateDownloading {
		qos = 0
	}
	return c.otaPublish(ctx, pid, dn, qos, map[string]any{
		"type": "report_progress",
		"report": map[string]any{
			"progress": map[string]any{
				"state": p.State, "percent": strconv.Itoa(p.Percent),
				"result_code": strconv.Itoa(p.Code), "result_msg": p.Message,
			},
			"version": version,
		},
	})
}

func (c *Client) otaPublish(ctx context.Context, pid, dn string, qos byte, msg map[string]any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("sdk: ota: %w", err)
	}
	topic := protocol.FamilyTopic(protocol.FamilyOTA, protocol.Up, pid, dn)
	return c.Publish(ctx, topic, qos, b)
}
