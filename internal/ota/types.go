// Package ota is firmware upgrade (PROTOCOL.md §7, §13.6): firmware
// records, upgrade tasks with a per-device state machine kept in the store
// (so tasks survive restarts), the device protocol on $ota topics, retries,
// timeouts, rate limiting and re-push on version mismatch (resume).
package ota

import (
	"context"
	"errors"
	"time"
)

// Errors the store and the service return.
var (
	ErrFirmwareNotFound = errors.New("firmware not found")
	ErrFirmwareExists   = errors.New("firmware already exists")
	ErrTaskNotFound     = errors.New("firmware task not found")
	ErrNoActiveUpgrade  = errors.New("no upgrade in progress for the device")
	ErrDeviceUpdating   = errors.New("device already has an unfinished upgrade")
	ErrAlreadyOnVersion = errors.New("device already runs the firmware version")
	ErrFileNotUploaded  = errors.New("firmware file not uploaded")
	ErrFileMismatch     = errors.New("uploaded file does not match the declared size or MD5")
	ErrNoDevices        = errors.New("no device matches the task")
	ErrTaskNotPaused    = errors.New("firmware task is not paused")
	ErrTaskNotRunning   = errors.New("firmware task is not running")
)

// Firmware is an uploaded firmware version of a product.
type Firmware struct {
	ProductID   string
	Version     string
	Name        string
	Description string
	MD5         string // 32 lowercase hex
	Size        int64
	FwType      string
	UserDefined string
	BlobKey     string
	CreatedAt   time.Time
}

// Task status values (FirmwareTaskInfo.Status).
const (
	TaskRunning  = 1
	TaskDone     = 2
	TaskCanceled = 3
	TaskPaused   = 4 // staged rollout stopped on failures (Thingo's value)
)

// Task is an upgrade task.
type Task struct {
	ID             int64
	ProductID      string
	Version        string // target
	OriVersion     string // "" unless the task selected devices by version
	UpgradeMode    string // "originalVersion" or "devicenames"
	FwType         string
	Type           int64
	UpgradeMethod  int64
	TimeoutSeconds int64
	MaxRetry       int64
	RetryInterval  time.Duration
	RateLimit      int64 // devices per minute; 0 unlimited
	// RolloutBatch, when > 0, pushes only this many devices first; the
	// rest follow once they all finished (Thingo extension).
	RolloutBatch int64
	// PauseFailurePct, when > 0, pauses the task (TaskPaused) when more
	// than this percentage of finished devices failed (Thingo extension).
	PauseFailurePct int64
	UserDefine      string
	Status          int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	DelayUntil      time.Time
	OverrideMode    int64
	CronTime        time.Time
	FileSize, Total int64 // Total is the number of devices (filled on reads)
}

// State is a device's state within a task.
type State string

// Device states.
const (
	StatePending     State = "pending"
	StatePushed      State = "pushed"
	StateDownloading State = "downloading"
	StateBurning     State = "burning"
	StateDone        State = "done"
	StateFailed      State = "failed"
	StateCanceled    State = "canceled"
)

// Terminal reports whether no more work happens for the device.
func (s State) Terminal() bool {
	return s == StateDone || s == StateFailed || s == StateCanceled
}

// Code is the numeric status the API reports (DescribeFirmwareUpdateStatus):
// 1 pending, 2 pushed, 3 downloading, 4 burning, 5 failed, 6 done,
// 9 canceled (Thingo's value; Tencent lists none).
func (s State) Code() int64 {
	switch s {
	case StatePending:
		return 1
	case StatePushed:
		return 2
	case StateDownloading:
		return 3
	case StateBurning:
		return 4
	case StateFailed:
		return 5
	case StateDone:
		return 6
	case StateCanceled:
		return 9
	}
	return 0
}

// TaskDevice is one device of a task.
type TaskDevice struct {
	TaskID     int64
	ProductID  string
	DeviceName string
	OriVersion string
	DstVersion string
	State      State
	Percent    int64
	RetCode    int64 // last result_code the device reported (0, -1 ... -5)
	ErrMsg     string
	Retries    int64 // pushes after the first
	Pushes     int64
	NextAt     time.Time // when a pending device may be pushed
	Deadline   time.Time // when a pushed/downloading/burning device times out
	UpdatedAt  time.Time
}

// TaskCounts counts a task's devices.
type TaskCounts struct {
	Total    int64
	Started  int64 // pushed at least once or no longer pending
	Done     int64
	Failed   int64
	Canceled int64
}

// TaskDeviceFilter selects devices of tasks.
type TaskDeviceFilter struct {
	ProductID  string
	Version    string // target version; "" any
	TaskID     int64  // 0 any
	DeviceName string
	Offset     int
	Limit      int
}

// Store persists firmware and tasks. Implemented by internal/store/sqlstore.
type Store interface {
	CreateFirmware(ctx context.Context, f Firmware) error
	GetFirmware(ctx context.Context, productID, version string) (Firmware, error)
	ListFirmwares(ctx context.Context, productID string, offset, limit int) ([]Firmware, int64, error)

	// CreateTask stores t and its devices and returns the new task ID.
	CreateTask(ctx context.Context, t Task, devices []TaskDevice) (int64, error)
	GetTask(ctx context.Context, id int64) (Task, error)
	ListTasks(ctx context.Context, productID, version string, offset, limit int) ([]Task, int64, error)
	// SetTaskStatus sets the task's status; canceling also cancels its
	// unfinished devices.
	SetTaskStatus(ctx context.Context, id, status int64, at time.Time) error
	ListTaskDevices(ctx context.Context, f TaskDeviceFilter) ([]TaskDevice, int64, error)
	// ActiveTaskDevice returns the device's unfinished entry of a running
	// or paused task (the newest), or ErrNoActiveUpgrade.
	ActiveTaskDevice(ctx context.Context, productID, deviceName string) (TaskDevice, error)
	// LatestTaskDevice returns the device's newest entry of any task, or
	// ErrNoActiveUpgrade.
	LatestTaskDevice(ctx context.Context, productID, deviceName string) (TaskDevice, error)
	UpdateTaskDevice(ctx context.Context, d TaskDevice) error
	// DueTaskDevices returns unfinished devices that are pending with
	// NextAt <= now in running tasks, or in flight with Deadline <= now in
	// running or paused tasks.
	DueTaskDevices(ctx context.Context, now time.Time, limit int) ([]TaskDevice, error)
	// ResumeTask sets a paused task running again and clears its
	// PauseFailurePct (the operator accepted the failures).
	ResumeTask(ctx context.Context, id int64, at time.Time) error
	// CountTask counts a task's devices by progress.
	CountTask(ctx context.Context, id int64) (TaskCounts, error)
	// FinishTasks marks running tasks whose devices are all terminal done.
	FinishTasks(ctx context.Context, at time.Time) error

	// SetDeviceVersion records the firmware version a device reported.
	SetDeviceVersion(ctx context.Context, productID, deviceName, version string) error
}
