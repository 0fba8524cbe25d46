package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/thingo-iot/thingo/protocol"
)

// Resource is a file resource held by the device (PROTOCOL.md §10).
type Resource struct {
	Name    string `json:"resource_name"`
	Type    string `json:"resource_type"` // e.g. FILE (default), AUDIO
	Version string `json:"version"`
}

// ResourceUpdate is an update_resource push: a resource to download.
type ResourceUpdate struct {
	Resource
	URL      string `json:"url"`
	MD5      string `json:"md5sum"`
	FileSize int64  `json:"file_size"`
}

// ResourceHandlers handle the platform's resource pushes. Each runs on its
// own goroutine; ctx is canceled when the client closes.
type ResourceHandlers struct {
	// Update handles update_resource: typically DownloadResource.
	Update func(ctx context.Context, u ResourceUpdate)
	// Delete handles del_resource: delete the file, then
	// ReportResourceDeleted.
	Delete func(ctx context.Context, r Resource)
}

// resourceMsg is a message of `$resource/down/service`.
type resourceMsg struct {
	Method       string     `json:"method"`
	RequestID    flexString `json:"request_id"`
	ResultCode   int        `json:"result_code"`
	ResultMsg    string     `json:"result_msg"`
	ResourceList []Resource `json:"resource_list"`
	ResourceUpdate
}

// parseResourceMsg decodes a `$resource/down/service` message.
func parseResourceMsg(b []byte) (resourceMsg, error) {
	var m resourceMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return resourceMsg{}, fmt.Errorf("sdk: bad resource message: %w", err)
	}
	if m.Method == "" {
		return resourceMsg{}, errors.New("sdk: resource message without method")
	}
	return m, nil
}

func (c *Client) resourceTopic(d protocol.Direction) string {
	return protocol.FamilyTopic(protocol.FamilyResource, d, c.cfg.ProductID, c.cfg.DeviceName)
}

// OnResources subscribes `$resource/down/service/{pid}/{dn}` at QoS 1 and
// routes resource pushes to h (the replies to ReportResources too). Call
// it before ReportResources; before Connect it only records the
// subscription.
func (c *Client) OnResources(ctx context.Context, h ResourceHandlers) error {
	return c.Subscribe(ctx, c.resourceTopic(protocol.Down), 1, func(ctx context.Context, m Message) {
		msg, err := parseResourceMsg(m.Payload)
		if err != nil {
			c.log.Warn("dropping resource message", "err", err)
			return
		}
		switch msg.Method {
		case "update_resource":
			if msg.URL == "" || msg.Name == "" || msg.FileSize <= 0 {
				c.log.Warn("update_resource without url, name or file_size", "resource", msg.Name)
				return
			}
			if h.Update != nil {
				h.Update(ctx, msg.ResourceUpdate)
			}
		case "del_resource":
			if h.Delete != nil {
				h.Delete(ctx, msg.Resource)
			}
		default:
			if msg.RequestID == "" || !c.waiters.deliver("resource:"+string(msg.RequestID), m.Payload) {
				c.log.Debug("resource reply without waiter", "method", msg.Method)
			}
		}
	})
}

// ReportResources reports the resources the device holds (report_version)
// and returns the list the platform recorded. An empty list asks for the
// recorded list (recovery after a reset). The platform then pushes the
// updates and deletions still pending for the device.
func (c *Client) ReportResources(ctx context.Context, list []Resource) ([]Resource, error) {
	if list == nil {
		list = []Resource{}
	}
	id := c.newToken()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	ch, done := c.waiters.add("resource:" + id)
	defer done()
	if err := c.resourcePublish(ctx, map[string]any{
		"method": "report_version", "request_id": id, "report": map[string]any{"resource_list": list},
	}); err != nil {
		return nil, fmt.Errorf("sdk: report resources: %w", err)
	}
	p, err := wait(ctx, ch)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("sdk: report resources: %w", err)
	}
	m, err := parseResourceMsg(p)
	if err != nil {
		return nil, err
	}
	if m.ResultCode != 0 {
		return nil, &ReplyError{Method: "report_version", Code: m.ResultCode, Status: m.ResultMsg}
	}
	return m.ResourceList, nil
}

// ReportResourceProgress reports the download progress of a resource
// (report_progress, state downloading) or its result (report_result, state
// done or fail with an OTACode*).
func (c *Client) ReportResourceProgress(ctx context.Context, r Resource, p OTAProgress) error {
	method := "report_result"
	switch p.State {
	case OTAStateDownloading, OTAStateBurning:
		method = "report_progress"
	case OTAStateDone, OTAStateFail:
	default:
		return fmt.Errorf("sdk: report resource progress: state %q", p.State)
	}
	return c.resourcePublish(ctx, map[string]any{
		"method": method,
		"report": map[string]any{
			"progress": map[string]any{
				"resource_name": r.Name, "state": p.State, "percent": strconv.Itoa(p.Percent),
				"result_code": strconv.Itoa(p.Code), "result_msg": p.Message,
			},
			"version": r.Version,
		},
	})
}

// ReportResourceDeleted answers del_resource (del_result): deleted, or
// the error that prevented it. A file that was already missing counts as
// deleted.
func (c *Client) ReportResourceDeleted(ctx context.Context, r Resource, cause error) error {
	state, code, msg := OTAStateDone, "0", "success"
	if cause != nil {
		state, code, msg = OTAStateFail, "-1", cause.Error()
	}
	return c.resourcePublish(ctx, map[string]any{
		"method": "del_result",
		"report": map[string]any{
			"progress": map[string]any{"resource_name": r.Name, "state": state, "result_code": code, "result_msg": msg},
			"version":  r.Version,
		},
	})
}

// DownloadResource downloads the resource of u to path with the resume
// and MD5 check of FirmwareDownload (state file path+StateSuffix), and
// reports its progress every 10 percent, then done, or fail with the
// OTACode* (not when ctx is canceled, which keeps the state for a resume).
func (c *Client) DownloadResource(ctx context.Context, u ResourceUpdate, path string, hc *http.Client) error {
	last := -10
	d := FirmwareDownload{
		Update: OTAUpdate{Version: u.Version, URL: u.URL, MD5: u.MD5, FileSize: u.FileSize},
		Path:   path, HTTPClient: hc,
		OnProgress: func(p int) {
			if p >= last+10 || p == 100 && last != 100 {
				last = p
				if err := c.ReportResourceProgress(ctx, u.Resource, OTAProgress{State: OTAStateDownloading, Percent: p}); err != nil {
					c.log.Warn("report resource progress", "err", err)
				}
			}
		},
	}
	err := d.Run(ctx)
	var oe *OTAError
	switch {
	case err == nil:
		if rerr := c.ReportResourceProgress(ctx, u.Resource, OTAProgress{State: OTAStateDone, Percent: 100, Message: "success"}); rerr != nil {
			return fmt.Errorf("sdk: resource %s downloaded, result not reported: %w", u.Name, rerr)
		}
	case errors.As(err, &oe):
		if rerr := c.ReportResourceProgress(ctx, u.Resource, OTAProgress{State: OTAStateFail, Code: oe.Code, Message: oe.Err.Error()}); rerr != nil {
			c.log.Warn("report resource failure", "err", rerr)
		}
	}
	return err
}

func (c *Client) resourcePublish(ctx context.Context, msg map[string]any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("sdk: resource: %w", err)
	}
	return c.Publish(ctx, c.resourceTopic(protocol.Up), 1, b)
}
