package ota

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/thingo-iot/thingo/internal/blob"
	"github.com/thingo-iot/thingo/protocol"
)

// taskProgress is the progress of a §9 upload or download task.
type taskProgress struct {
	State      string          `json:"state"`
	Percent    json.RawMessage `json:"percent"`
	ResultCode json.RawMessage `json:"result_code"`
	ResultMsg  string          `json:"result_msg"`
}

// handleTask serves the §9 messages (PROTOCOL.md §9), identified by type.
func (s *Service) handleTask(ctx context.Context, pid, dn string, m resourceMsg) error {
	switch m.Type {
	case "create_upload_task":
		return s.createUploadTask(ctx, pid, dn, m)
	case "report_upload_progress":
		return s.uploadProgress(ctx, pid, dn, m)
	case "get_download_task":
		return s.getDownloadTask(ctx, pid, dn)
	case "report_download_progress":
		return s.downloadProgress(ctx, pid, dn, m)
	default:
		s.log.Debug("$resource message ignored", "type", m.Type, "product_id", pid, "device_name", dn)
		return nil
	}
}

// createUploadTask answers with a signed PUT link; the upload must then
// match the declared size and MD5.
func (s *Service) createUploadTask(ctx context.Context, pid, dn string, m resourceMsg) error {
	size := number(m.Size)
	rsp := map[string]any{"type": "create_upload_task_rsp", "size": size, "name": m.Name, "md5sum": m.MD5sum}
	if checkResourceName("name", m.Name) != nil || !md5Re.MatchString(m.MD5sum) || size <= 0 {
		rsp["result_code"], rsp["result_msg"] = -1, "invalid name, size or md5sum"
		return s.sendOn(ctx, protocol.FamilyResource, pid, dn, rsp)
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	now := s.clock()
	u := ResourceUpload{
		Token: hex.EncodeToString(rnd[:]), ProductID: pid, DeviceName: dn, Name: m.Name, Type: "FILE",
		State: UploadRequested, MD5: strings.ToLower(m.MD5sum), Size: size, CreatedAt: now, UpdatedAt: now,
	}
	u.BlobKey = resourceUploadKey(pid, dn, u.Token)
	if err := s.res.PutResourceUpload(ctx, u); err != nil {
		return err
	}
	rsp["url"] = s.links.UploadURL(u.BlobKey)
	return s.sendOn(ctx, protocol.FamilyResource, pid, dn, rsp)
}

// uploadProgress records report_upload_progress; "done" is checked
// against the stored file.
func (s *Service) uploadProgress(ctx context.Context, pid, dn string, m resourceMsg) error {
	reply := func(code int, msg string) error {
		return s.sendOn(ctx, protocol.FamilyResource, pid, dn, map[string]any{"type": "report_upload_progress_rsp", "result_code": code, "result_msg": msg})
	}
	list, err := s.res.ListResourceUploads(ctx, pid, dn)
	if err != nil {
		return err
	}
	var u ResourceUpload
	for _, c := range list {
		if c.Name == m.Name && c.State == UploadRequested && c.MD5 != "" { // a §9 task (declared MD5)
			u = c
			break
		}
	}
	if u.Token == "" {
		return reply(-1, "no upload task for "+m.Name)
	}
	u.UpdatedAt, u.ResultCode, u.ResultMsg = s.clock(), number(m.Progress.ResultCode), m.Progress.ResultMsg
	switch m.Progress.State {
	case "uploading":
		return reply(0, "ok")
	case "done":
		size, sum, err := s.files.Sum(ctx, u.BlobKey)
		switch {
		case errors.Is(err, blob.ErrNotFound):
			u.State, u.ResultCode, u.ResultMsg = UploadFailed, -2, "file not received"
		case err != nil:
			return err
		case size != u.Size || sum != u.MD5:
			u.State, u.ResultCode, u.ResultMsg = UploadFailed, -4, fmt.Sprintf("stored file has size %d and MD5 %s", size, sum)
		default:
			u.State = UploadDone
		}
	default:
		u.State = UploadFailed
	}
	if err := s.res.PutResourceUpload(ctx, u); err != nil {
		return err
	}
	if u.State == UploadFailed && m.Progress.State == "done" {
		return reply(-1, u.ResultMsg)
	}
	return reply(0, "ok")
}

// getDownloadTask answers with the device's first unfinished push.
func (s *Service) getDownloadTask(ctx context.Context, pid, dn string) error {
	list, err := s.res.ListDeviceResources(ctx, pid, dn)
	if err != nil {
		return err
	}
	for _, r := range list {
		if r.BlobKey == "" || (r.State != ResourcePending && r.State != ResourcePushed && r.State != ResourceDownloading) {
			continue
		}
		if err := s.sendOn(ctx, protocol.FamilyResource, pid, dn, map[string]any{
			"type": "get_download_task_rsp", "size": r.Size, "name": r.Name, "md5sum": r.MD5,
			"url": s.links.DownloadURL(r.BlobKey), "result_code": 0, "result_msg": "success",
		}); err != nil {
			return err
		}
		if r.State == ResourcePending {
			r.State, r.ResultMsg, r.UpdatedAt = ResourcePushed, "", s.clock()
			return s.res.PutDeviceResource(ctx, r)
		}
		return nil
	}
	return s.sendOn(ctx, protocol.FamilyResource, pid, dn, map[string]any{"type": "get_download_task_rsp", "result_code": -1, "result_msg": "no download task"})
}

// downloadProgress records report_download_progress.
func (s *Service) downloadProgress(ctx context.Context, pid, dn string, m resourceMsg) error {
	var rm resourceMsg
	rm.Method = "report_progress"
	rm.Report.Progress.ResourceName = m.Name
	rm.Report.Progress.State = m.Progress.State
	rm.Report.Progress.Percent = m.Progress.Percent
	rm.Report.Progress.ResultCode = m.Progress.ResultCode
	rm.Report.Progress.ResultMsg = m.Progress.ResultMsg
	code, msg := 0, "ok"
	if err := s.resourceProgress(ctx, pid, dn, rm); err != nil {
		code, msg = -1, "unknown download task"
		s.log.Debug("report_download_progress", "product_id", pid, "device_name", dn, "err", err)
	}
	return s.sendOn(ctx, protocol.FamilyResource, pid, dn, map[string]any{"type": "report_download_progress_rsp", "result_code": code, "result_msg": msg})
}
