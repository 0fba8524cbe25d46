package ota

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// Result codes devices report in a failed progress (PROTOCOL.md §7).
var resultText = map[int64]string{
	-1: "download timeout",
	-2: "file does not exist",
	-3: "signature expired",
	-4: "MD5 mismatch",
	-5: "update firmware failed",
}

// msgOffline marks a pending device whose last push found it unreachable.
const msgOffline = "device offline"

// maxPushes bounds re-pushes of one device in one task, so a device that
// keeps rebooting on the old version ends failed rather than looping.
const maxPushes = 20

// report is an $ota/report message.
type report struct {
	Type   string `json:"type"`
	Report struct {
		Version  string `json:"version"`
		Progress struct {
			State      string          `json:"state"`
			Percent    json.RawMessage `json:"percent"`
			ResultCode json.RawMessage `json:"result_code"`
			ResultMsg  string          `json:"result_msg"`
		} `json:"progress"`
	} `json:"report"`
}

// number reads an integer sent as a JSON number or a string ("10").
func number(raw json.RawMessage) int64 {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = []byte(s)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0
	}
	return int64(f)
}

// HandleReport handles a message a device published on
// $ota/report/{productID}/{deviceName}.
func (s *Service) HandleReport(ctx context.Context, productID, deviceName string, payload []byte) {
	var m report
	if err := json.Unmarshal(payload, &m); err != nil {
		s.log.Debug("$ota report ignored: bad JSON", "product_id", productID, "device_name", deviceName)
		return
	}
	defer s.lockDevice(productID, deviceName)()
	var err error
	switch m.Type {
	case "report_version":
		err = s.reportVersion(ctx, productID, deviceName, m.Report.Version)
	case "report_progress":
		err = s.reportProgress(ctx, productID, deviceName, m)
	default:
		s.log.Debug("$ota report ignored", "type", m.Type, "product_id", productID, "device_name", deviceName)
		return
	}
	if err != nil {
		s.log.Warn("$ota report", "type", m.Type, "product_id", productID, "device_name", deviceName, "err", err)
	}
}

func (s *Service) send(ctx context.Context, pid, dn string, msg any, qos byte) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return s.pub.Publish(ctx, pid, dn, protocol.FamilyTopic(protocol.FamilyOTA, protocol.Down, pid, dn), b, qos)
}

type versionRsp struct {
	ResultCode int    `json:"result_code"`
	ResultMsg  string `json:"result_msg"`
	Type       string `json:"type"`
	Version    string `json:"version"`
}

func (s *Service) reportVersion(ctx context.Context, pid, dn, version string) error {
	if len(version) < 1 || len(version) > 32 {
		return s.send(ctx, pid, dn, versionRsp{-1, "invalid version", "report_version_rsp", version}, 1)
	}
	if err := s.store.SetDeviceVersion(ctx, pid, dn, version); err != nil {
		return err
	}
	if err := s.send(ctx, pid, dn, versionRsp{0, "success", "report_version_rsp", version}, 1); err != nil {
		return fmt.Errorf("report_version_rsp: %w", err)
	}
	d, err := s.store.ActiveTaskDevice(ctx, pid, dn)
	if errors.Is(err, ErrNoActiveUpgrade) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.clock()
	if version == d.DstVersion {
		d.State, d.Percent, d.RetCode, d.ErrMsg, d.UpdatedAt = StateDone, 100, 0, "", now
		return s.store.UpdateTaskDevice(ctx, d)
	}
	t, err := s.store.GetTask(ctx, d.TaskID)
	if err != nil {
		return err
	}
	switch {
	case d.State == StatePending && t.Status != TaskRunning:
		return nil // paused: only devices already started continue
	case d.State == StatePending && now.Before(t.DelayUntil):
		return nil // the task has not started yet
	case d.State == StatePending && d.Pushes > 0 && d.ErrMsg != msgOffline && now.Before(d.NextAt):
		return nil // waiting for the retry interval
	case d.State == StatePending && !s.rollout(ctx, t, nil):
		return nil // staged rollout holds it
	case d.State == StatePending && !s.allow(t, now):
		return nil // rate limited; the engine pushes it later
	}
	return s.push(ctx, d, t)
}

func (s *Service) reportProgress(ctx context.Context, pid, dn string, m report) error {
	p := m.Report.Progress
	d, err := s.store.ActiveTaskDevice(ctx, pid, dn)
	if errors.Is(err, ErrNoActiveUpgrade) {
		if p.State == "done" && m.Report.Version != "" {
			return s.store.SetDeviceVersion(ctx, pid, dn, m.Report.Version)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if m.Report.Version != "" && m.Report.Version != d.DstVersion {
		return fmt.Errorf("progress for version %s, task targets %s: ignored", m.Report.Version, d.DstVersion)
	}
	t, err := s.store.GetTask(ctx, d.TaskID)
	if err != nil {
		return err
	}
	now := s.clock()
	inFlight := d.State == StatePushed || d.State == StateDownloading || d.State == StateBurning
	switch p.State {
	case "downloading", "burning":
		if d.State == StatePending {
			return nil // a stale message after a failure
		}
		d.State = State(p.State)
		if p.State == "downloading" {
			d.Percent = min(max(number(p.Percent), 0), 100)
		}
		d.Deadline = now.Add(time.Duration(t.TimeoutSeconds) * time.Second)
	case "done":
		d.State, d.Percent, d.RetCode, d.ErrMsg = StateDone, 100, 0, ""
		if err := s.store.SetDeviceVersion(ctx, pid, dn, d.DstVersion); err != nil {
			return err
		}
	case "fail":
		if !inFlight {
			return nil // the SDKs may report several failures in a row
		}
		code := number(p.ResultCode)
		msg, ok := resultText[code]
		if !ok {
			msg = "failed with code " + strconv.FormatInt(code, 10)
		}
		s.retryOrFail(&d, t, now, code, msg)
	default:
		return fmt.Errorf("unknown progress state %q", p.State)
	}
	d.UpdatedAt = now
	return s.store.UpdateTaskDevice(ctx, d)
}

// retryOrFail moves a device whose attempt failed to pending (with the
// task's retry interval) or, out of retries, to failed.
func (s *Service) retryOrFail(d *TaskDevice, t Task, now time.Time, code int64, msg string) {
	d.RetCode, d.ErrMsg = code, msg
	if d.Retries < t.MaxRetry && d.Pushes < maxPushes {
		d.Retries++
		d.State, d.NextAt, d.Deadline = StatePending, now.Add(t.RetryInterval), time.Time{}
		return
	}
	d.State, d.Deadline = StateFailed, time.Time{}
}

type updateFirmware struct {
	FileSize int64  `json:"file_size"`
	MD5      string `json:"md5sum"`
	Type     string `json:"type"`
	URL      string `json:"url"`
	Version  string `json:"version"`
}

// push sends update_firmware to the device and records it as pushed, or
// leaves it pending (retried later) when the device cannot be reached.
func (s *Service) push(ctx context.Context, d TaskDevice, t Task) error {
	now := s.clock()
	if d.Pushes >= maxPushes {
		d.State, d.ErrMsg, d.UpdatedAt = StateFailed, "too many pushes", now
		return s.store.UpdateTaskDevice(ctx, d)
	}
	fw, err := s.store.GetFirmware(ctx, d.ProductID, d.DstVersion)
	if err != nil {
		return err
	}
	msg := updateFirmware{FileSize: fw.Size, MD5: fw.MD5, Type: "update_firmware", URL: s.links.DownloadURL(fw.BlobKey), Version: fw.Version}
	if err := s.send(ctx, d.ProductID, d.DeviceName, msg, 1); err != nil {
		d.State, d.ErrMsg, d.NextAt, d.UpdatedAt = StatePending, msgOffline, now.Add(OfflineRecheck), now
		if uerr := s.store.UpdateTaskDevice(ctx, d); uerr != nil {
			return errors.Join(err, uerr)
		}
		return fmt.Errorf("push update_firmware: %w", err)
	}
	d.Pushes++
	d.State, d.Percent, d.ErrMsg, d.UpdatedAt = StatePushed, 0, "", now
	d.Deadline = now.Add(time.Duration(t.TimeoutSeconds) * time.Second)
	s.log.Info("update_firmware pushed", "task_id", d.TaskID, "product_id", d.ProductID, "device_name", d.DeviceName, "version", d.DstVersion, "push", d.Pushes)
	return s.store.UpdateTaskDevice(ctx, d)
}
