package storetest

import (
	"context"
	"testing"

	"github.com/thingo-iot/thingo/internal/ota"
	"github.com/thingo-iot/thingo/internal/registry"
)

// testOTA checks the ota.Store side of a store: firmware, tasks, the
// per-device state machine's queries, cancel and device versions.
func testOTA(t *testing.T, rs registry.Store) {
	s, ok := rs.(ota.Store)
	if !ok {
		t.Fatalf("%T does not implement ota.Store", rs)
	}
	ctx := context.Background()
	seed(t, rs)
	for _, n := range []string{"dev1", "dev2"} {
		mustNil(t, rs.CreateDevice(ctx, device("PRODUCT01", n, 1)))
	}

	fw := ota.Firmware{ProductID: "PRODUCT01", Version: "2.0", Name: "n", MD5: "0123456789abcdef0123456789abcdef",
		Size: 10, FwType: "mcu", BlobKey: "firmware/PRODUCT01/2.0.bin", CreatedAt: at(2)}
	mustNil(t, s.CreateFirmware(ctx, fw))
	wantErr(t, "duplicate firmware", s.CreateFirmware(ctx, fw), ota.ErrFirmwareExists)
	bad := fw
	bad.ProductID = "NOPRODUCT0"
	wantErr(t, "firmware of missing product", s.CreateFirmware(ctx, bad), registry.ErrProductNotFound)
	got, err := s.GetFirmware(ctx, "PRODUCT01", "2.0")
	mustNil(t, err)
	if got != fw {
		t.Errorf("GetFirmware = %+v, want %+v", got, fw)
	}
	_, err = s.GetFirmware(ctx, "PRODUCT01", "9.9")
	wantErr(t, "missing firmware", err, ota.ErrFirmwareNotFound)
	list, total, err := s.ListFirmwares(ctx, "PRODUCT01", 0, 10)
	mustNil(t, err)
	if total != 1 || len(list) != 1 {
		t.Errorf("ListFirmwares = %d, total %d", len(list), total)
	}

	task := ota.Task{ProductID: "PRODUCT01", Version: "2.0", UpgradeMode: "devicenames", FwType: "mcu", Type: 1,
		TimeoutSeconds: 60, MaxRetry: 2, RetryInterval: 60_000_000_000, Status: ota.TaskRunning, RolloutBatch: 1, PauseFailurePct: 30,
		DelayUntil: at(3), CreatedAt: at(3), UpdatedAt: at(3)}
	var devs []ota.TaskDevice
	for _, n := range []string{"dev1", "dev2"} {
		devs = append(devs, ota.TaskDevice{ProductID: "PRODUCT01", DeviceName: n, DstVersion: "2.0", State: ota.StatePending, NextAt: at(3), UpdatedAt: at(3)})
	}
	id, err := s.CreateTask(ctx, task, devs)
	mustNil(t, err)
	gt, err := s.GetTask(ctx, id)
	mustNil(t, err)
	if gt.Total != 2 || gt.FileSize != 10 || gt.RolloutBatch != 1 || gt.PauseFailurePct != 30 || gt.RetryInterval != task.RetryInterval || !gt.DelayUntil.Equal(at(3)) {
		t.Errorf("GetTask = %+v", gt)
	}
	_, err = s.GetTask(ctx, id+100)
	wantErr(t, "missing task", err, ota.ErrTaskNotFound)

	due, err := s.DueTaskDevices(ctx, at(2), 10)
	mustNil(t, err)
	if len(due) != 0 {
		t.Errorf("due before NextAt: %d", len(due))
	}
	due, err = s.DueTaskDevices(ctx, at(3), 10)
	mustNil(t, err)
	if len(due) != 2 {
		t.Fatalf("due = %d, want 2", len(due))
	}
	d := due[0]
	d.State, d.Pushes, d.Deadline, d.UpdatedAt = ota.StatePushed, 1, at(5), at(4)
	mustNil(t, s.UpdateTaskDevice(ctx, d))
	a, err := s.ActiveTaskDevice(ctx, "PRODUCT01", d.DeviceName)
	mustNil(t, err)
	if a != d {
		t.Errorf("ActiveTaskDevice = %+v, want %+v", a, d)
	}
	due, err = s.DueTaskDevices(ctx, at(5), 10)
	mustNil(t, err)
	if len(due) != 2 {
		t.Errorf("due with expired deadline = %d, want 2", len(due))
	}

	d.State = ota.StateDone
	mustNil(t, s.UpdateTaskDevice(ctx, d))
	_, err = s.ActiveTaskDevice(ctx, "PRODUCT01", d.DeviceName)
	wantErr(t, "done device", err, ota.ErrNoActiveUpgrade)
	l, err := s.LatestTaskDevice(ctx, "PRODUCT01", d.DeviceName)
	mustNil(t, err)
	if l.State != ota.StateDone {
		t.Errorf("LatestTaskDevice state = %s", l.State)
	}
	c, err := s.CountTask(ctx, id)
	mustNil(t, err)
	if c != (ota.TaskCounts{Total: 2, Started: 1, Done: 1}) {
		t.Errorf("CountTask = %+v", c)
	}
	wantErr(t, "resume a running task", s.ResumeTask(ctx, id, at(6)), ota.ErrTaskNotPaused)
	mustNil(t, s.SetTaskStatus(ctx, id, ota.TaskPaused, at(6)))
	if _, err := s.ActiveTaskDevice(ctx, "PRODUCT01", due[1].DeviceName); err != nil {
		t.Errorf("device of a paused task is not active: %v", err)
	}
	if due, _ := s.DueTaskDevices(ctx, at(9), 10); len(due) != 0 {
		t.Errorf("pending devices of a paused task are due: %+v", due)
	}
	mustNil(t, s.ResumeTask(ctx, id, at(6)))
	if gt, _ := s.GetTask(ctx, id); gt.Status != ota.TaskRunning || gt.PauseFailurePct != 0 {
		t.Errorf("after resume: %+v", gt)
	}
	mustNil(t, s.FinishTasks(ctx, at(6)))
	if gt, _ := s.GetTask(ctx, id); gt.Status != ota.TaskRunning {
		t.Errorf("task finished with a pending device")
	}
	mustNil(t, s.SetTaskStatus(ctx, id, ota.TaskCanceled, at(7)))
	rows, total, err := s.ListTaskDevices(ctx, ota.TaskDeviceFilter{ProductID: "PRODUCT01", TaskID: id})
	mustNil(t, err)
	if total != 2 || rows[0].State != ota.StateDone || rows[1].State != ota.StateCanceled {
		t.Errorf("after cancel: %+v", rows)
	}
	tasks, total, err := s.ListTasks(ctx, "PRODUCT01", "2.0", 0, 10)
	mustNil(t, err)
	if total != 1 || tasks[0].Status != ota.TaskCanceled {
		t.Errorf("ListTasks = %+v", tasks)
	}

	mustNil(t, s.SetDeviceVersion(ctx, "PRODUCT01", "dev1", "1.5"))
	dv, err := rs.GetDevice(ctx, "PRODUCT01", "dev1")
	mustNil(t, err)
	if dv.Version != "1.5" {
		t.Errorf("version = %q", dv.Version)
	}
	wantErr(t, "version of missing device", s.SetDeviceVersion(ctx, "PRODUCT01", "nodev", "1"), registry.ErrDeviceNotFound)
}
