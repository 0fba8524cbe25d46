package ota

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
)

// Registry is the device registry the service reads.
type Registry interface {
	GetProduct(ctx context.Context, id string) (registry.Product, error)
	GetDevice(ctx context.Context, productID, name string) (registry.DeviceDetail, error)
	ListDevices(ctx context.Context, f registry.DeviceFilter) ([]registry.Device, int64, error)
}

// Files is the blob storage holding firmware images.
type Files interface {
	// Sum returns the stored object's size and MD5 (hex); a missing
	// object is an error wrapping blob.ErrNotFound.
	Sum(ctx context.Context, key string) (int64, string, error)
	// Rename moves an object (replacing the target).
	Rename(ctx context.Context, from, to string) error
	// Delete removes an object; a missing one is no error.
	Delete(ctx context.Context, key string) error
}

// Links makes signed URLs for firmware files.
type Links interface {
	UploadURL(key string) string
	DownloadURL(key string) string
}

// Publisher sends a message to a device; an unreachable device is an error.
type Publisher interface {
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Defaults of tasks and the engine.
const (
	DefaultTimeout       = 15 * time.Minute // device silent mid-upgrade
	DefaultMaxRetry      = 3
	DefaultRetryInterval = time.Minute
	DefaultTick          = time.Second
	// OfflineRecheck is how long a pending device that could not be
	// reached waits before the engine tries again (it is also pushed as
	// soon as it reports its version).
	OfflineRecheck = time.Minute
)

// Config configures a Service.
type Config struct {
	Store     Store     // required
	Registry  Registry  // required
	Files     Files     // required
	Links     Links     // required
	Publisher Publisher // required
	// Resources, if set, enables resource management ($resource topics).
	Resources ResourceStore
	Logger    *slog.Logger
	Now       func() time.Time
	Tick      time.Duration // engine period; 0: DefaultTick
}

// Service manages firmware and upgrade tasks; safe for concurrent use.
type Service struct {
	store Store
	reg   Registry
	files Files
	links Links
	pub   Publisher
	res   ResourceStore
	log   *slog.Logger
	now   func() time.Time
	tick  time.Duration

	mu   sync.Mutex
	rate map[int64]*window // per-task pushes in the current minute

	// devLocks serialize the read-modify-write of one device's task state
	// between its reports and the engine (striped by device).
	devLocks [64]sync.Mutex

	famMu      sync.Mutex
	thingFiles map[deviceKey]struct{} // devices that last reported file versions on $thing
}

// lockDevice locks the stripe of a device and returns its unlock.
func (s *Service) lockDevice(productID, deviceName string) func() {
	h := fnv.New32a()
	h.Write([]byte(productID))
	h.Write([]byte{0})
	h.Write([]byte(deviceName))
	m := &s.devLocks[h.Sum32()%uint32(len(s.devLocks))]
	m.Lock()
	return m.Unlock
}

type window struct {
	start time.Time
	n     int64
}

// NewService returns a Service.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Registry == nil || cfg.Files == nil || cfg.Links == nil || cfg.Publisher == nil {
		return nil, errors.New("ota: Store, Registry, Files, Links and Publisher are required")
	}
	s := &Service{
		store: cfg.Store, reg: cfg.Registry, files: cfg.Files, links: cfg.Links, pub: cfg.Publisher, res: cfg.Resources,
		log: cfg.Logger, now: cfg.Now, tick: cfg.Tick, rate: map[int64]*window{}, thingFiles: map[deviceKey]struct{}{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.tick <= 0 {
		s.tick = DefaultTick
	}
	return s, nil
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// InvalidError is a request value the service refuses.
type InvalidError struct{ Field, Reason string }

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

var (
	versionRe = regexp.MustCompile(`^[A-Za-z0-9._\-+]{1,32}$`)
	md5Re     = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
)

func checkVersion(field, v string) error {
	if !versionRe.MatchString(v) {
		return &InvalidError{field, "must be 1-32 characters of letters, digits and . _ - +"}
	}
	return nil
}

// FileKey is where a product's recorded firmware version is kept in blob
// storage. Upload links write to UploadKey instead, so that no link can
// change a recorded firmware file.
func FileKey(productID, version string) string {
	return "firmware/" + productID + "/" + version + ".bin"
}

// UploadKey is where GetCOSURL's link stores an upload until UploadFirmware
// checks and records it.
func UploadKey(productID, version string) string {
	return "upload/" + productID + "/" + version + ".bin"
}

// UploadURL returns the signed URL to PUT the firmware file to
// (GetCOSURL).
func (s *Service) UploadURL(ctx context.Context, productID, version string) (string, error) {
	if err := checkVersion("FirmwareVersion", version); err != nil {
		return "", err
	}
	if _, err := s.reg.GetProduct(ctx, productID); err != nil {
		return "", err
	}
	if _, err := s.store.GetFirmware(ctx, productID, version); err == nil {
		return "", fmt.Errorf("%s/%s: %w", productID, version, ErrFirmwareExists)
	} else if !errors.Is(err, ErrFirmwareNotFound) {
		return "", err
	}
	return s.links.UploadURL(UploadKey(productID, version)), nil
}

// Upload records a firmware version whose file was uploaded to UploadURL;
// the file's size and MD5 must match f's.
func (s *Service) Upload(ctx context.Context, f Firmware) (Firmware, error) {
	if err := checkVersion("FirmwareVersion", f.Version); err != nil {
		return Firmware{}, err
	}
	if !md5Re.MatchString(f.MD5) {
		return Firmware{}, &InvalidError{"Md5sum", "must be 32 hex digits"}
	}
	if f.Size <= 0 {
		return Firmware{}, &InvalidError{"FileSize", "must be positive"}
	}
	if f.FwType == "" {
		f.FwType = "mcu"
	}
	if _, err := s.reg.GetProduct(ctx, f.ProductID); err != nil {
		return Firmware{}, err
	}
	f.MD5 = strings.ToLower(f.MD5)
	if _, err := s.store.GetFirmware(ctx, f.ProductID, f.Version); err == nil {
		return Firmware{}, fmt.Errorf("%s/%s: %w", f.ProductID, f.Version, ErrFirmwareExists)
	} else if !errors.Is(err, ErrFirmwareNotFound) {
		return Firmware{}, err
	}
	staged := UploadKey(f.ProductID, f.Version)
	f.BlobKey = FileKey(f.ProductID, f.Version)
	if err := s.checkFile(ctx, staged, f); err != nil {
		return Firmware{}, err
	}
	if err := s.files.Rename(ctx, staged, f.BlobKey); err != nil {
		return Firmware{}, errors.Join(ErrFileNotUploaded, err)
	}
	// An upload may have replaced the staged file between the check and
	// the move: check the final file again.
	if err := s.checkFile(ctx, f.BlobKey, f); err != nil {
		_ = s.files.Delete(ctx, f.BlobKey)
		return Firmware{}, err
	}
	f.CreatedAt = s.clock()
	if err := s.store.CreateFirmware(ctx, f); err != nil {
		return Firmware{}, err
	}
	return f, nil
}

func (s *Service) checkFile(ctx context.Context, key string, f Firmware) error {
	size, sum, err := s.files.Sum(ctx, key)
	if err != nil {
		return errors.Join(ErrFileNotUploaded, err)
	}
	if size != f.Size || sum != f.MD5 {
		return fmt.Errorf("%w: stored %d bytes, MD5 %s", ErrFileMismatch, size, sum)
	}
	return nil
}

// Firmware returns one firmware version.
func (s *Service) Firmware(ctx context.Context, productID, version string) (Firmware, error) {
	return s.store.GetFirmware(ctx, productID, version)
}

// Firmwares lists a product's firmware ("" every product), newest first.
func (s *Service) Firmwares(ctx context.Context, productID string, offset, limit int) ([]Firmware, int64, error) {
	return s.store.ListFirmwares(ctx, productID, offset, limit)
}

// TaskInput describes a new upgrade task (BatchUpdateFirmware,
// UpdateFirmware).
type TaskInput struct {
	ProductID     string
	Version       string
	OriVersion    string   // select the product's devices on this version
	DeviceNames   []string // or these devices
	FwType        string
	Type          int64
	UpgradeMethod int64
	Timeout       time.Duration // 0: DefaultTimeout
	MaxRetry      *int64        // nil: DefaultMaxRetry
	RetryInterval time.Duration // 0: DefaultRetryInterval
	RateLimit     int64
	// RolloutBatch and PauseFailurePct stage the rollout (see Task).
	RolloutBatch    int64
	PauseFailurePct int64
	DelayTime       time.Duration
	OverrideMode    int64
	UserDefine      string
}

// CreateTask starts an upgrade task and returns it. Devices already on the
// target version are skipped; a device with an unfinished upgrade makes it
// fail with ErrDeviceUpdating unless OverrideMode is 1 (the older entry is
// canceled).
func (s *Service) CreateTask(ctx context.Context, in TaskInput) (Task, error) {
	fw, err := s.store.GetFirmware(ctx, in.ProductID, in.Version)
	if err != nil {
		return Task{}, err
	}
	now := s.clock()
	t := Task{
		ProductID: in.ProductID, Version: in.Version, OriVersion: in.OriVersion, FwType: fw.FwType,
		Type: in.Type, UpgradeMethod: in.UpgradeMethod, TimeoutSeconds: int64(in.Timeout / time.Second),
		MaxRetry: DefaultMaxRetry, RetryInterval: in.RetryInterval, RateLimit: in.RateLimit,
		UserDefine: in.UserDefine, Status: TaskRunning, CreatedAt: now, UpdatedAt: now,
		OverrideMode: in.OverrideMode, FileSize: fw.Size,
		RolloutBatch: in.RolloutBatch, PauseFailurePct: in.PauseFailurePct,
	}
	if t.Type == 0 {
		t.Type = 1
	}
	if t.TimeoutSeconds <= 0 {
		t.TimeoutSeconds = int64(DefaultTimeout / time.Second)
	}
	if in.MaxRetry != nil {
		t.MaxRetry = *in.MaxRetry
	}
	if t.RetryInterval <= 0 {
		t.RetryInterval = DefaultRetryInterval
	}
	t.DelayUntil = now.Add(in.DelayTime)
	t.CronTime = t.DelayUntil

	var devices []registry.Device
	if len(in.DeviceNames) > 0 {
		t.UpgradeMode = "devicenames"
		seen := map[string]bool{}
		for _, n := range in.DeviceNames {
			if seen[n] {
				continue
			}
			seen[n] = true
			d, err := s.reg.GetDevice(ctx, in.ProductID, n)
			if err != nil {
				return Task{}, err
			}
			devices = append(devices, d.Device)
		}
	} else {
		t.UpgradeMode = "originalVersion"
		if in.OriVersion == "" {
			return Task{}, &InvalidError{"FirmwareOriVersion", "required when DeviceNames is empty"}
		}
		for off := 0; ; off += 100 {
			page, total, err := s.reg.ListDevices(ctx, registry.DeviceFilter{ProductID: in.ProductID, FirmwareVersion: in.OriVersion, Offset: off, Limit: 100})
			if err != nil {
				return Task{}, err
			}
			devices = append(devices, page...)
			if len(page) == 0 || int64(off+len(page)) >= total {
				break
			}
		}
	}
	var entries []TaskDevice
	for _, d := range devices {
		if d.Version == in.Version {
			continue
		}
		if cur, err := s.store.ActiveTaskDevice(ctx, d.ProductID, d.Name); err == nil {
			if in.OverrideMode != 1 {
				return Task{}, fmt.Errorf("%w: %s (task %d)", ErrDeviceUpdating, d.Name, cur.TaskID)
			}
			cur.State, cur.ErrMsg, cur.UpdatedAt = StateCanceled, "overridden by a newer task", now
			if err := s.store.UpdateTaskDevice(ctx, cur); err != nil {
				return Task{}, err
			}
		} else if !errors.Is(err, ErrNoActiveUpgrade) {
			return Task{}, err
		}
		entries = append(entries, TaskDevice{
			ProductID: d.ProductID, DeviceName: d.Name, OriVersion: d.Version, DstVersion: in.Version,
			State: StatePending, NextAt: t.DelayUntil, UpdatedAt: now,
		})
	}
	if len(entries) == 0 {
		if len(devices) > 0 {
			return Task{}, ErrAlreadyOnVersion
		}
		return Task{}, ErrNoDevices
	}
	id, err := s.store.CreateTask(ctx, t, entries)
	if err != nil {
		return Task{}, err
	}
	t.ID, t.Total = id, int64(len(entries))
	s.log.Info("firmware task created", "task_id", id, "product_id", t.ProductID, "version", t.Version, "devices", len(entries))
	return t, nil
}

// Task returns one task.
func (s *Service) Task(ctx context.Context, id int64) (Task, error) { return s.store.GetTask(ctx, id) }

// Tasks lists a product version's tasks, newest first.
func (s *Service) Tasks(ctx context.Context, productID, version string, offset, limit int) ([]Task, int64, error) {
	return s.store.ListTasks(ctx, productID, version, offset, limit)
}

// TaskDevices lists devices of tasks.
func (s *Service) TaskDevices(ctx context.Context, f TaskDeviceFilter) ([]TaskDevice, int64, error) {
	return s.store.ListTaskDevices(ctx, f)
}

// CancelTask cancels a task and its unfinished devices.
func (s *Service) CancelTask(ctx context.Context, productID string, id int64) error {
	t, err := s.store.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if t.ProductID != productID {
		return fmt.Errorf("task %d: %w", id, ErrTaskNotFound)
	}
	return s.store.SetTaskStatus(ctx, id, TaskCanceled, s.clock())
}

// PauseTask stops a running task from pushing more devices (status
// TaskPaused); devices already started continue. ResumeTask undoes it. A
// task that is not running is ErrTaskNotRunning.
func (s *Service) PauseTask(ctx context.Context, productID string, id int64) error {
	t, err := s.store.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if t.ProductID != productID {
		return fmt.Errorf("task %d: %w", id, ErrTaskNotFound)
	}
	if t.Status != TaskRunning {
		return fmt.Errorf("task %d: %w", id, ErrTaskNotRunning)
	}
	return s.store.SetTaskStatus(ctx, id, TaskPaused, s.clock())
}

// ResumeTask sets a paused task running again; its failure threshold is
// cleared, as the operator accepted the failures so far.
func (s *Service) ResumeTask(ctx context.Context, productID string, id int64) error {
	t, err := s.store.GetTask(ctx, id)
	if err != nil {
		return err
	}
	if t.ProductID != productID {
		return fmt.Errorf("task %d: %w", id, ErrTaskNotFound)
	}
	return s.store.ResumeTask(ctx, id, s.clock())
}

// DeviceStatus returns the device's newest task entry (any state).
func (s *Service) DeviceStatus(ctx context.Context, productID, deviceName string) (TaskDevice, error) {
	if _, err := s.reg.GetDevice(ctx, productID, deviceName); err != nil {
		return TaskDevice{}, err
	}
	return s.store.LatestTaskDevice(ctx, productID, deviceName)
}

// PushNow pushes the device's unfinished upgrade at once
// (PublishFirmwareUpdateMessage).
func (s *Service) PushNow(ctx context.Context, productID, deviceName string) error {
	defer s.lockDevice(productID, deviceName)()
	d, err := s.store.ActiveTaskDevice(ctx, productID, deviceName)
	if err != nil {
		return err
	}
	t, err := s.store.GetTask(ctx, d.TaskID)
	if err != nil {
		return err
	}
	return s.push(ctx, d, t)
}
