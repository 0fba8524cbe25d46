package ota

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/thingo-iot/thingo/internal/blob"
	"github.com/thingo-iot/thingo/protocol"
)

// resourceMsg is a message on $resource/up/service (PROTOCOL.md §10).
type resourceMsg struct {
	Method    string `json:"method"`
	RequestID string `json:"request_id"`
	// §9 messages carry "type" and these top-level fields instead.
	Type     string          `json:"type"`
	Name     string          `json:"name"`
	Size     json.RawMessage `json:"size"`
	MD5sum   string          `json:"md5sum"`
	Progress taskProgress    `json:"progress"`
	Report   struct {
		ResourceList []resourceEntry `json:"resource_list"`
		ResourceName string          `json:"resource_name"`
		ResourceType string          `json:"resource_type"`
		Version      string          `json:"version"`
		Progress     struct {
			ResourceName  string          `json:"resource_name"`
			ResourceToken string          `json:"resource_token"`
			State         string          `json:"state"`
			Percent       json.RawMessage `json:"percent"`
			ResultCode    json.RawMessage `json:"result_code"`
			ResultMsg     string          `json:"result_msg"`
		} `json:"progress"`
	} `json:"report"`
	// fam is the family the message came on; replies go back on it.
	fam protocol.Family
}

// resourceEntry is one element of a resource_list.
type resourceEntry struct {
	ResourceName string `json:"resource_name"`
	Version      string `json:"version"`
	ResourceType string `json:"resource_type"`
}

// HandleResource handles a device message on
// $resource/up/service/{pid}/{dn}: the §10 methods report_version,
// report_progress, report_result, request_url, report_post_result and
// del_result, and the §9 types create_upload_task, report_upload_progress,
// get_download_task and report_download_progress.
func (s *Service) HandleResource(ctx context.Context, productID, deviceName string, payload []byte) {
	s.handleFiles(ctx, protocol.FamilyResource, productID, deviceName, payload)
}

// handleFiles handles a resource message that arrived on family fam;
// replies go back on fam.
func (s *Service) handleFiles(ctx context.Context, fam protocol.Family, productID, deviceName string, payload []byte) {
	if s.res == nil {
		return
	}
	var m resourceMsg
	if err := json.Unmarshal(payload, &m); err != nil {
		s.log.Debug("$resource message ignored: bad JSON", "product_id", productID, "device_name", deviceName)
		return
	}
	m.fam = fam
	defer s.lockDevice(productID, deviceName)()
	var err error
	switch m.Method {
	case "report_version":
		err = s.resourceVersions(ctx, productID, deviceName, m)
	case "report_progress", "report_result":
		err = s.resourceProgress(ctx, productID, deviceName, m)
	case "request_url":
		err = s.resourceRequestURL(ctx, productID, deviceName, m)
	case "report_post_result":
		err = s.resourcePostResult(ctx, productID, deviceName, m)
	case "del_result":
		err = s.resourceDeleted(ctx, productID, deviceName, m)
	case "":
		if fam != protocol.FamilyResource {
			return
		}
		err = s.handleTask(ctx, productID, deviceName, m)
	default:
		s.log.Debug("$resource message ignored", "method", m.Method, "product_id", productID, "device_name", deviceName)
		return
	}
	if err != nil {
		s.log.Warn("$resource message", "method", m.Method, "product_id", productID, "device_name", deviceName, "err", err)
	}
}

// held returns the resources the device holds (done) as a resource_list.
func held(list []DeviceResource) []resourceEntry {
	out := []resourceEntry{}
	for _, r := range list {
		if r.State == ResourceDone || r.State == ResourceDeleteFail {
			out = append(out, resourceEntry{ResourceName: r.Name, Version: r.Version, ResourceType: r.Type})
		}
	}
	return out
}

// resourceVersions records the device's list (a non-empty report replaces
// what it holds), answers with the recorded list and re-sends unfinished
// pushes and deletions (the device may have rebooted).
func (s *Service) resourceVersions(ctx context.Context, pid, dn string, m resourceMsg) error {
	now := s.clock()
	list, err := s.res.ListDeviceResources(ctx, pid, dn)
	if err != nil {
		return err
	}
	if len(m.Report.ResourceList) > 0 {
		reported := map[string]resourceEntry{}
		for _, e := range m.Report.ResourceList {
			if checkResourceName("resource_name", e.ResourceName) == nil {
				reported[e.ResourceName] = e
			}
		}
		byName := map[string]DeviceResource{}
		for _, r := range list {
			byName[r.Name] = r
		}
		for name, e := range reported {
			r, ok := byName[name]
			inFlight := ok && r.State != ResourceDone && r.State != ResourceDeleteFail && r.State != ResourceFailed
			if inFlight && (r.State == ResourceDeleting || r.Version != e.Version) {
				continue // a push or deletion is under way; it is re-sent below
			}
			if !ok {
				r = DeviceResource{ProductID: pid, DeviceName: dn, Name: name}
			}
			if r.Version != e.Version {
				r.MD5, r.Size, r.BlobKey = "", 0, ""
			}
			r.Version, r.Type, r.State, r.Percent, r.ResultCode, r.ResultMsg, r.UpdatedAt = e.Version, orFile(e.ResourceType), ResourceDone, 100, 0, "", now
			if err := s.res.PutDeviceResource(ctx, r); err != nil {
				return err
			}
		}
		for _, r := range list {
			if _, ok := reported[r.Name]; !ok && r.State == ResourceDone {
				if err := s.res.DeleteDeviceResource(ctx, pid, dn, r.Name); err != nil {
					return err
				}
			}
		}
		if list, err = s.res.ListDeviceResources(ctx, pid, dn); err != nil {
			return err
		}
	}
	s.setFileFamily(pid, dn, m.fam)
	if err := s.sendOn(ctx, m.fam, pid, dn, map[string]any{
		"method": "report_version_rsp", "request_id": m.RequestID, "result_code": 0, "result_msg": "success",
		"resource_list": held(list),
	}); err != nil {
		return err
	}
	for _, r := range list {
		switch r.State {
		case ResourcePending, ResourcePushed, ResourceDownloading:
			if err := s.pushResource(ctx, r, now); err != nil {
				return err
			}
		case ResourceDeleting:
			if err := s.sendDelete(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

func orFile(t string) string {
	if t == "" {
		return "FILE"
	}
	return t
}

// resourceProgress records report_progress and report_result.
func (s *Service) resourceProgress(ctx context.Context, pid, dn string, m resourceMsg) error {
	p := m.Report.Progress
	r, err := s.res.GetDeviceResource(ctx, pid, dn, p.ResourceName)
	if err != nil {
		return err
	}
	if m.Report.Version != "" && m.Report.Version != r.Version {
		return fmt.Errorf("progress for version %q, expected %q", m.Report.Version, r.Version)
	}
	r.ResultCode, r.ResultMsg, r.UpdatedAt = number(p.ResultCode), p.ResultMsg, s.clock()
	switch p.State {
	case "downloading", "burning":
		r.State, r.Percent = ResourceDownloading, min(max(number(p.Percent), 0), 100)
	case "done":
		r.State, r.Percent = ResourceDone, 100
	case "fail":
		r.State = ResourceFailed
		if r.ResultCode == 0 {
			r.ResultCode = -5
		}
		if t, ok := resultText[r.ResultCode]; ok && (r.ResultMsg == "" || r.ResultMsg == "time_out") {
			r.ResultMsg = t
		}
	default:
		return fmt.Errorf("unknown state %q", p.State)
	}
	if m.Method == "report_result" && p.State != "fail" {
		r.State, r.Percent = ResourceDone, 100
	}
	return s.res.PutDeviceResource(ctx, r)
}

// resourceRequestURL answers request_url with a signed upload link.
func (s *Service) resourceRequestURL(ctx context.Context, pid, dn string, m resourceMsg) error {
	fail := func(code int, msg string) error {
		return s.sendOn(ctx, m.fam, pid, dn, map[string]any{
			"method": "request_url_resp", "request_id": m.RequestID, "result_code": code, "result_msg": msg,
		})
	}
	name := m.Report.ResourceName
	if checkResourceName("resource_name", name) != nil {
		return fail(-1, "invalid resource_name")
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	now := s.clock()
	u := ResourceUpload{
		Token: hex.EncodeToString(rnd[:]), ProductID: pid, DeviceName: dn, Name: name, Type: orFile(m.Report.ResourceType),
		Version: m.Report.Version, State: UploadRequested, CreatedAt: now, UpdatedAt: now,
	}
	u.BlobKey = resourceUploadKey(pid, dn, u.Token)
	if err := s.res.PutResourceUpload(ctx, u); err != nil {
		_ = fail(-1, "internal error")
		return err
	}
	return s.sendOn(ctx, m.fam, pid, dn, map[string]any{
		"method": "request_url_resp", "request_id": m.RequestID, "result_code": 0, "result_msg": "success",
		"resource_url": s.links.UploadURL(u.BlobKey), "resource_token": u.Token,
	})
}

// resourcePostResult records the end of a device upload; a "done" upload
// counts only if the file is really stored.
func (s *Service) resourcePostResult(ctx context.Context, pid, dn string, m resourceMsg) error {
	p := m.Report.Progress
	u, err := s.res.GetResourceUpload(ctx, p.ResourceToken)
	if err != nil {
		return err
	}
	if u.ProductID != pid || u.DeviceName != dn {
		return fmt.Errorf("upload %s: %w", p.ResourceToken, ErrUploadNotFound)
	}
	u.UpdatedAt, u.ResultCode, u.ResultMsg = s.clock(), number(p.ResultCode), p.ResultMsg
	if p.State == "done" {
		size, sum, err := s.files.Sum(ctx, u.BlobKey)
		switch {
		case err == nil:
			u.State, u.Size, u.MD5 = UploadDone, size, sum
		case errors.Is(err, blob.ErrNotFound):
			u.State, u.ResultCode, u.ResultMsg = UploadFailed, -2, "file not received"
		default:
			return err
		}
	} else {
		u.State = UploadFailed
	}
	return s.res.PutResourceUpload(ctx, u)
}

// resourceDeleted records del_result; a missing file counts as deleted.
func (s *Service) resourceDeleted(ctx context.Context, pid, dn string, m resourceMsg) error {
	p := m.Report.Progress
	r, err := s.res.GetDeviceResource(ctx, pid, dn, p.ResourceName)
	if errors.Is(err, ErrResourceNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.State == "done" {
		return s.res.DeleteDeviceResource(ctx, pid, dn, r.Name)
	}
	r.State, r.ResultCode, r.ResultMsg, r.UpdatedAt = ResourceDeleteFail, number(p.ResultCode), p.ResultMsg, s.clock()
	return s.res.PutDeviceResource(ctx, r)
}

// pushResource sends update_resource; an unreachable device stays pending.
func (s *Service) pushResource(ctx context.Context, r DeviceResource, now time.Time) error {
	err := s.sendResource(ctx, r.ProductID, r.DeviceName, map[string]any{
		"method": "update_resource", "resource_name": r.Name, "resource_type": r.Type, "version": r.Version,
		"url": s.links.DownloadURL(r.BlobKey), "md5sum": r.MD5, "file_size": r.Size,
	})
	if err != nil {
		r.State, r.ResultMsg = ResourcePending, msgOffline
	} else if r.State == ResourcePending {
		r.State, r.ResultMsg = ResourcePushed, ""
	}
	r.UpdatedAt = now
	return s.res.PutDeviceResource(ctx, r)
}

func (s *Service) sendDelete(ctx context.Context, r DeviceResource) error {
	return s.sendResource(ctx, r.ProductID, r.DeviceName, map[string]any{
		"method": "del_resource", "resource_name": r.Name, "resource_type": r.Type, "version": r.Version,
	})
}
