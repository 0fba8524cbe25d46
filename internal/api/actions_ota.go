package api

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/thingo-iot/thingo/internal/ota"
)

// Firmware is the OTA domain the API serves (implemented by *ota.Service).
type Firmware interface {
	UploadURL(ctx context.Context, productID, version string) (string, error)
	Upload(ctx context.Context, f ota.Firmware) (ota.Firmware, error)
	Firmware(ctx context.Context, productID, version string) (ota.Firmware, error)
	Firmwares(ctx context.Context, productID string, offset, limit int) ([]ota.Firmware, int64, error)
	CreateTask(ctx context.Context, in ota.TaskInput) (ota.Task, error)
	Task(ctx context.Context, id int64) (ota.Task, error)
	Tasks(ctx context.Context, productID, version string, offset, limit int) ([]ota.Task, int64, error)
	TaskDevices(ctx context.Context, f ota.TaskDeviceFilter) ([]ota.TaskDevice, int64, error)
	CancelTask(ctx context.Context, productID string, id int64) error
	ResumeTask(ctx context.Context, productID string, id int64) error
	PauseTask(ctx context.Context, productID string, id int64) error
	DeviceStatus(ctx context.Context, productID, deviceName string) (ota.TaskDevice, error)
	PushNow(ctx context.Context, productID, deviceName string) error
}

// Error codes of the firmware actions.
const (
	codeFirmwareNotExist        = "ResourceNotFound.FirmwareNotExist"
	codeFirmwareAlreadyExist    = "InvalidParameterValue.FirmwareAlreadyExist"
	codeFirmwareTaskNotExist    = "ResourceNotFound.FirmwareTaskNotExist"
	codeDeviceIsUpdating        = "FailedOperation.DeviceIsUpdating"
	codeDeviceFirmwareIsUpdated = "FailedOperation.DeviceFirmwareIsUpdated"
	codeResourceNotFound        = "ResourceNotFound"
)

// Longest retry interval and timeout accepted (Tencent: 120-900 s timeout).
const (
	minTaskTimeout = 120
	maxTaskTimeout = 900
)

// FirmwareInfo is one firmware version (ListFirmwares).
type FirmwareInfo struct {
	Version, Md5sum   string
	CreateTime        uint64
	ProductName, Name string
	Description       string
	ProductId, FwType string
	CreateUserId      int64
	CreatorNickName   string
	UserDefined       string
}

// FirmwareTaskInfo is one task (DescribeFirmwareTasks).
type FirmwareTaskInfo struct {
	TaskId          uint64
	Status          int64
	Type            int64
	CreateTime      int64
	CreatorNickName string
	CreateUserId    int64
	CronTime        int64
	FwType          string
}

// DeviceUpdateStatus is one device of a task.
type DeviceUpdateStatus struct {
	DeviceName      string
	LastProcessTime uint64
	Status          uint64
	ErrMsg          string
	Retcode         int64
	DstVersion      string
	Percent         uint64
	OriVersion      string
	TaskId          uint64
	FwType          string
	RetryNum        uint64
}

// DeviceFirmwareInfo is a device's current firmware.
type DeviceFirmwareInfo struct {
	FwType     string
	Version    string
	UpdateTime uint64
}

// SearchKeyword is a Key/Value filter.
type SearchKeyword struct {
	Key   *string `required:"true"`
	Value string
}

type (
	getCOSURLRequest struct {
		ProductID       *string `required:"true"`
		FirmwareVersion *string `required:"true"`
		FileSize        uint64
		FwType          string
	}
	getCOSURLResponse struct{ Url string }

	uploadFirmwareRequest struct {
		ProductID           *string `required:"true"`
		FirmwareVersion     *string `required:"true"`
		Md5sum              *string `required:"true"`
		FileSize            *uint64 `required:"true"`
		FirmwareName        string
		FirmwareDescription string
		FwType              string
		FirmwareUserDefined string
	}

	updateFirmwareRequest struct {
		ProductID          *string `required:"true"`
		DeviceName         *string `required:"true"`
		FirmwareVersion    *string `required:"true"`
		FirmwareOriVersion *string `required:"true"`
		UpgradeMethod      int64
	}

	firmwareRequest struct {
		ProductID       *string `required:"true"`
		FirmwareVersion *string `required:"true"`
		FwType          string
	}
	describeFirmwareResponse struct {
		Version, ProductId, Name, Description, Md5sum string
		Createtime                                    uint64
		ProductName, FwType, UserDefined              string
	}

	listFirmwaresRequest struct {
		PageNum   *uint64 `required:"true"`
		PageSize  *uint64 `required:"true"`
		ProductID string
		Filters   []SearchKeyword
	}
	listFirmwaresResponse struct {
		TotalCount uint64
		Firmwares  []FirmwareInfo
	}

	batchUpdateFirmwareRequest struct {
		ProductID          *string `required:"true"`
		FirmwareVersion    *string `required:"true"`
		FirmwareOriVersion string
		UpgradeMethod      int64
		DeviceNames        []string
		TimeoutInterval    uint64
		Type               int64
		DelayTime          int64
		OverrideMode       int64
		MaxRetryNum        *int64
		RetryInterval      uint64
		FwType             string
		TaskUserDefine     string
		RateLimit          int64
		// Thingo extensions: staged rollout.
		RolloutBatch        int64
		PauseFailurePercent int64
	}
	batchUpdateFirmwareResponse struct{ TaskId uint64 }

	publishFirmwareUpdateMessageRequest struct {
		ProductID  *string `required:"true"`
		DeviceName *string
		FwType     string
	}
	publishFirmwareUpdateMessageResponse struct{ Status string }

	describeFirmwareTaskRequest struct {
		ProductID       *string `required:"true"`
		FirmwareVersion *string `required:"true"`
		TaskId          *uint64 `required:"true"`
	}
	describeFirmwareTaskResponse struct {
		TaskId          uint64
		Status          int64
		CreateTime      int64
		Type            int64
		ProductName     string
		UpgradeMode     string
		ProductId       string
		OriginalVersion string
		CreateUserId    uint64
		CreatorNickName string
		DelayTime       uint64
		TimeoutInterval uint64
		UpgradeMethod   uint64
		MaxRetryNum     uint64
		FwType          string
		RetryInterval   uint64
		OverrideMode    uint64
		TaskUserDefine  string
		RateLimit       int64
		// Thingo extensions: staged rollout.
		RolloutBatch        int64
		PauseFailurePercent int64
	}

	describeFirmwareTasksRequest struct {
		ProductID       *string `required:"true"`
		FirmwareVersion *string `required:"true"`
		Offset          *uint64 `required:"true"`
		Limit           *uint64 `required:"true"`
		Filters         []SearchKeyword
		FwType          string
	}
	describeFirmwareTasksResponse struct {
		TaskInfos []FirmwareTaskInfo
		Total     uint64
	}

	describeFirmwareTaskDevicesRequest struct {
		ProductID       *string `required:"true"`
		FirmwareVersion *string `required:"true"`
		Filters         []SearchKeyword
		Offset          uint64
		Limit           uint64
		FwType          string
	}
	describeFirmwareTaskDevicesResponse struct {
		Total   uint64
		Devices []DeviceUpdateStatus
	}

	deviceFirmwareRequest struct {
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
	}
	describeFirmwareUpdateStatusResponse struct {
		OriVersion string
		DstVersion string
		Status     int64
		Percent    int64
	}
	describeDeviceFirmWareResponse  struct{ Data string }
	describeDeviceFirmwaresResponse struct {
		Firmwares []DeviceFirmwareInfo
	}
	checkFirmwareUpdateResponse struct {
		CurrentVersion string
		DstVersion     string
	}

	updateOtaTaskStatusRequest struct {
		ProductId *string `required:"true"`
		TaskId    *int64  `required:"true"`
		Status    *int64  `required:"true"`
	}
)

// firmware returns the configured Firmware or an error when the server has
// none.
func (h *Handler) firmware() (Firmware, error) {
	if h.ota == nil {
		return nil, newError(codeFailedOperation, "firmware upgrades are not available on this server")
	}
	return h.ota, nil
}

// otaErr turns the OTA domain's invalid-value errors into API errors.
func otaErr(err error) error {
	var inv *ota.InvalidError
	if errors.As(err, &inv) {
		return newError(codeInvalidParameterValue, "parameter "+inv.Field+": "+inv.Reason)
	}
	return err
}

func (h *Handler) getCOSURL(ctx context.Context, req *getCOSURLRequest) (*getCOSURLResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	u, err := fw.UploadURL(ctx, *req.ProductID, *req.FirmwareVersion)
	if err != nil {
		return nil, otaErr(err)
	}
	return &getCOSURLResponse{Url: u}, nil
}

func (h *Handler) uploadFirmware(ctx context.Context, req *uploadFirmwareRequest) (*emptyResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	if *req.FileSize > 1<<40 {
		return nil, newError(codeInvalidParameterValue, "parameter FileSize: too large")
	}
	_, err = fw.Upload(ctx, ota.Firmware{
		ProductID: *req.ProductID, Version: *req.FirmwareVersion, MD5: *req.Md5sum, Size: int64(*req.FileSize),
		Name: req.FirmwareName, Description: req.FirmwareDescription, FwType: req.FwType, UserDefined: req.FirmwareUserDefined,
	})
	if err != nil {
		return nil, otaErr(err)
	}
	return &emptyResponse{}, nil
}

func (h *Handler) updateFirmware(ctx context.Context, req *updateFirmwareRequest) (*emptyResponse, error) {
	_, err := h.startTask(ctx, ota.TaskInput{
		ProductID: *req.ProductID, Version: *req.FirmwareVersion, DeviceNames: []string{*req.DeviceName},
		UpgradeMethod: req.UpgradeMethod,
	})
	if err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}

func (h *Handler) startTask(ctx context.Context, in ota.TaskInput) (ota.Task, error) {
	fw, err := h.firmware()
	if err != nil {
		return ota.Task{}, err
	}
	t, err := fw.CreateTask(ctx, in)
	if err != nil {
		return ota.Task{}, otaErr(err)
	}
	return t, nil
}

func (h *Handler) describeFirmware(ctx context.Context, req *firmwareRequest) (*describeFirmwareResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	p, err := h.reg.GetProduct(ctx, *req.ProductID)
	if err != nil {
		return nil, err
	}
	f, err := fw.Firmware(ctx, *req.ProductID, *req.FirmwareVersion)
	if err != nil {
		return nil, err
	}
	return &describeFirmwareResponse{
		Version: f.Version, ProductId: f.ProductID, Name: f.Name, Description: f.Description, Md5sum: f.MD5,
		Createtime: uint64(unixSec(f.CreatedAt)), ProductName: p.Name, FwType: f.FwType, UserDefined: f.UserDefined,
	}, nil
}

func (h *Handler) listFirmwares(ctx context.Context, req *listFirmwaresRequest) (*listFirmwaresResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	if *req.PageNum < 1 || *req.PageSize < 1 || *req.PageSize > maxLimit {
		return nil, newError(codeInvalidParameterValue, "parameters PageNum and PageSize: PageNum >= 1, PageSize 1-100")
	}
	size := int(*req.PageSize)
	list, total, err := fw.Firmwares(ctx, req.ProductID, int(min(*req.PageNum-1, 1<<20))*size, size)
	if err != nil {
		return nil, err
	}
	out := &listFirmwaresResponse{TotalCount: uint64(total), Firmwares: make([]FirmwareInfo, 0, len(list))}
	names := map[string]string{}
	for _, f := range list {
		name, ok := names[f.ProductID]
		if !ok {
			if p, err := h.reg.GetProduct(ctx, f.ProductID); err == nil {
				name = p.Name
			}
			names[f.ProductID] = name
		}
		out.Firmwares = append(out.Firmwares, FirmwareInfo{
			Version: f.Version, Md5sum: f.MD5, CreateTime: uint64(unixSec(f.CreatedAt)), ProductName: name,
			Name: f.Name, Description: f.Description, ProductId: f.ProductID, FwType: f.FwType, UserDefined: f.UserDefined,
		})
	}
	return out, nil
}

func (h *Handler) batchUpdateFirmware(ctx context.Context, req *batchUpdateFirmwareRequest) (*batchUpdateFirmwareResponse, error) {
	in := ota.TaskInput{
		ProductID: *req.ProductID, Version: *req.FirmwareVersion, OriVersion: req.FirmwareOriVersion,
		DeviceNames: req.DeviceNames, FwType: req.FwType, Type: req.Type, UpgradeMethod: req.UpgradeMethod,
		MaxRetry: req.MaxRetryNum, RateLimit: req.RateLimit, OverrideMode: req.OverrideMode, UserDefine: req.TaskUserDefine,
		RolloutBatch: req.RolloutBatch, PauseFailurePct: req.PauseFailurePercent,
	}
	if req.RolloutBatch < 0 || req.PauseFailurePercent < 0 || req.PauseFailurePercent > 100 {
		return nil, newError(codeInvalidParameterValue, "parameters RolloutBatch >= 0 and PauseFailurePercent 0-100")
	}
	if req.TimeoutInterval != 0 {
		if req.TimeoutInterval < minTaskTimeout || req.TimeoutInterval > maxTaskTimeout {
			return nil, newError(codeInvalidParameterValue, "parameter TimeoutInterval: must be between 120 and 900 seconds")
		}
		in.Timeout = time.Duration(req.TimeoutInterval) * time.Second
	}
	if req.RetryInterval > 24*60 {
		return nil, newError(codeInvalidParameterValue, "parameter RetryInterval: at most 1440 minutes")
	}
	in.RetryInterval = time.Duration(req.RetryInterval) * time.Minute
	if req.DelayTime < 0 || req.DelayTime > 30*24*3600 {
		return nil, newError(codeInvalidParameterValue, "parameter DelayTime: 0 to 30 days in seconds")
	}
	in.DelayTime = time.Duration(req.DelayTime) * time.Second
	if req.MaxRetryNum != nil && (*req.MaxRetryNum < 0 || *req.MaxRetryNum > 10) {
		return nil, newError(codeInvalidParameterValue, "parameter MaxRetryNum: 0 to 10")
	}
	if req.RateLimit < 0 {
		return nil, newError(codeInvalidParameterValue, "parameter RateLimit: must not be negative")
	}
	t, err := h.startTask(ctx, in)
	if err != nil {
		return nil, err
	}
	return &batchUpdateFirmwareResponse{TaskId: uint64(t.ID)}, nil
}

func (h *Handler) publishFirmwareUpdateMessage(ctx context.Context, req *publishFirmwareUpdateMessageRequest) (*publishFirmwareUpdateMessageResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	if req.DeviceName == nil || *req.DeviceName == "" {
		return nil, newError(codeInvalidParameterValue, "parameter DeviceName: required")
	}
	if err := fw.PushNow(ctx, *req.ProductID, *req.DeviceName); err != nil {
		return nil, err
	}
	return &publishFirmwareUpdateMessageResponse{Status: "success"}, nil
}

func (h *Handler) productTask(ctx context.Context, fw Firmware, productID, version string, id uint64) (ota.Task, error) {
	t, err := fw.Task(ctx, int64(min(id, 1<<62)))
	if err != nil {
		return ota.Task{}, err
	}
	if t.ProductID != productID || (version != "" && t.Version != version) {
		return ota.Task{}, ota.ErrTaskNotFound
	}
	return t, nil
}

func (h *Handler) describeFirmwareTask(ctx context.Context, req *describeFirmwareTaskRequest) (*describeFirmwareTaskResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	p, err := h.reg.GetProduct(ctx, *req.ProductID)
	if err != nil {
		return nil, err
	}
	t, err := h.productTask(ctx, fw, *req.ProductID, *req.FirmwareVersion, *req.TaskId)
	if err != nil {
		return nil, err
	}
	return &describeFirmwareTaskResponse{
		TaskId: uint64(t.ID), Status: t.Status, CreateTime: unixSec(t.CreatedAt), Type: t.Type, ProductName: p.Name,
		UpgradeMode: t.UpgradeMode, ProductId: t.ProductID, OriginalVersion: t.OriVersion,
		DelayTime: uint64(max(t.DelayUntil.Sub(t.CreatedAt)/time.Second, 0)), TimeoutInterval: uint64(t.TimeoutSeconds),
		UpgradeMethod: uint64(t.UpgradeMethod), MaxRetryNum: uint64(t.MaxRetry), FwType: t.FwType,
		RetryInterval: uint64(t.RetryInterval / time.Minute), OverrideMode: uint64(t.OverrideMode),
		TaskUserDefine: t.UserDefine, RateLimit: t.RateLimit,
		RolloutBatch: t.RolloutBatch, PauseFailurePercent: t.PauseFailurePct,
	}, nil
}

func (h *Handler) describeFirmwareTasks(ctx context.Context, req *describeFirmwareTasksRequest) (*describeFirmwareTasksResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	if *req.Limit > maxLimit {
		return nil, newError(codeInvalidParameterValue, "parameter Limit: must be between 1 and 100")
	}
	limit := int(*req.Limit)
	if limit == 0 {
		limit = defaultLimit
	}
	list, total, err := fw.Tasks(ctx, *req.ProductID, *req.FirmwareVersion, int(min(*req.Offset, 1<<31)), limit)
	if err != nil {
		return nil, err
	}
	out := &describeFirmwareTasksResponse{Total: uint64(total), TaskInfos: make([]FirmwareTaskInfo, 0, len(list))}
	for _, t := range list {
		out.TaskInfos = append(out.TaskInfos, FirmwareTaskInfo{
			TaskId: uint64(t.ID), Status: t.Status, Type: t.Type, CreateTime: unixSec(t.CreatedAt),
			CronTime: unixSec(t.CronTime), FwType: t.FwType,
		})
	}
	return out, nil
}

func deviceUpdateStatus(d ota.TaskDevice, fwType string) DeviceUpdateStatus {
	return DeviceUpdateStatus{
		DeviceName: d.DeviceName, LastProcessTime: uint64(unixSec(d.UpdatedAt)), Status: uint64(d.State.Code()),
		ErrMsg: d.ErrMsg, Retcode: d.RetCode, DstVersion: d.DstVersion, Percent: uint64(max(d.Percent, 0)),
		OriVersion: d.OriVersion, TaskId: uint64(d.TaskID), FwType: fwType, RetryNum: uint64(max(d.Retries, 0)),
	}
}

func (h *Handler) describeFirmwareTaskDevices(ctx context.Context, req *describeFirmwareTaskDevicesRequest) (*describeFirmwareTaskDevicesResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	if req.Limit > maxLimit {
		return nil, newError(codeInvalidParameterValue, "parameter Limit: must be between 1 and 100")
	}
	f := ota.TaskDeviceFilter{ProductID: *req.ProductID, Version: *req.FirmwareVersion, Offset: int(min(req.Offset, 1<<31)), Limit: int(req.Limit)}
	if f.Limit == 0 {
		f.Limit = defaultLimit
	}
	for _, k := range req.Filters {
		switch *k.Key {
		case "TaskId":
			id, err := strconv.ParseInt(k.Value, 10, 64)
			if err != nil || id <= 0 {
				return nil, newError(codeInvalidParameterValue, "parameter Filters: TaskId must be a positive integer")
			}
			f.TaskID = id
		case "DeviceName":
			f.DeviceName = k.Value
		default:
			return nil, newError(codeInvalidParameterValue, "parameter Filters: unsupported key "+strconv.Quote(*k.Key)+" (TaskId, DeviceName)")
		}
	}
	list, total, err := fw.TaskDevices(ctx, f)
	if err != nil {
		return nil, err
	}
	fwType := req.FwType
	if fwType == "" {
		fwType = "mcu"
	}
	out := &describeFirmwareTaskDevicesResponse{Total: uint64(total), Devices: make([]DeviceUpdateStatus, 0, len(list))}
	for _, d := range list {
		out.Devices = append(out.Devices, deviceUpdateStatus(d, fwType))
	}
	return out, nil
}

func (h *Handler) describeFirmwareUpdateStatus(ctx context.Context, req *deviceFirmwareRequest) (*describeFirmwareUpdateStatusResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	d, err := fw.DeviceStatus(ctx, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, err
	}
	return &describeFirmwareUpdateStatusResponse{OriVersion: d.OriVersion, DstVersion: d.DstVersion, Status: d.State.Code(), Percent: d.Percent}, nil
}

// deviceVersion returns the device's reported version and when its last
// upgrade ended (zero when none).
func (h *Handler) deviceVersion(ctx context.Context, fw Firmware, pid, dn string) (string, time.Time, error) {
	d, err := h.reg.GetDevice(ctx, pid, dn)
	if err != nil {
		return "", time.Time{}, err
	}
	var at time.Time
	if t, err := fw.DeviceStatus(ctx, pid, dn); err == nil && t.State == ota.StateDone {
		at = t.UpdatedAt
	}
	return d.Device.Version, at, nil
}

func (h *Handler) describeDeviceFirmWare(ctx context.Context, req *deviceFirmwareRequest) (*describeDeviceFirmWareResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	v, _, err := h.deviceVersion(ctx, fw, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(map[string]string{"ProductId": *req.ProductId, "DeviceName": *req.DeviceName, "Version": v, "FwType": "mcu"})
	if err != nil {
		return nil, err
	}
	return &describeDeviceFirmWareResponse{Data: string(b)}, nil
}

func (h *Handler) describeDeviceFirmwares(ctx context.Context, req *deviceFirmwareRequest) (*describeDeviceFirmwaresResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	v, at, err := h.deviceVersion(ctx, fw, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, err
	}
	out := &describeDeviceFirmwaresResponse{Firmwares: []DeviceFirmwareInfo{}}
	if v != "" {
		out.Firmwares = append(out.Firmwares, DeviceFirmwareInfo{FwType: "mcu", Version: v, UpdateTime: uint64(unixSec(at))})
	}
	return out, nil
}

func (h *Handler) checkFirmwareUpdate(ctx context.Context, req *deviceFirmwareRequest) (*checkFirmwareUpdateResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	v, _, err := h.deviceVersion(ctx, fw, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, err
	}
	out := &checkFirmwareUpdateResponse{CurrentVersion: v}
	if d, err := fw.DeviceStatus(ctx, *req.ProductId, *req.DeviceName); err == nil && !d.State.Terminal() {
		out.DstVersion = d.DstVersion
	}
	return out, nil
}

func (h *Handler) updateOtaTaskStatus(ctx context.Context, req *updateOtaTaskStatusRequest) (*emptyResponse, error) {
	fw, err := h.firmware()
	if err != nil {
		return nil, err
	}
	if *req.TaskId <= 0 {
		return nil, newError(codeInvalidParameterValue, "parameter TaskId: must be positive")
	}
	switch *req.Status {
	case ota.TaskCanceled:
		err = fw.CancelTask(ctx, *req.ProductId, *req.TaskId)
	case ota.TaskRunning: // Thingo extension: resume a paused staged rollout
		err = fw.ResumeTask(ctx, *req.ProductId, *req.TaskId)
	case ota.TaskPaused: // Thingo extension: pause a running task
		err = fw.PauseTask(ctx, *req.ProductId, *req.TaskId)
		if errors.Is(err, ota.ErrTaskNotRunning) {
			return nil, newError(codeInvalidParameterValue, "the firmware task is not running")
		}
	default:
		return nil, newError(codeInvalidParameterValue, "parameter Status: 3 cancels, 4 pauses, 1 resumes a paused task")
	}
	if err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}
