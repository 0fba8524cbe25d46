package api

import (
	"context"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
)

// routes is the action table: one line per action.
func (h *Handler) routes() map[string]action {
	return map[string]action{
		"CreateProject":   handle(h.createProject),
		"DescribeProject": handle(h.describeProject),
		"GetProjectList":  handle(h.getProjectList),
		"ModifyProject":   handle(h.modifyProject),
		"DeleteProject":   handle(h.deleteProject),

		"CreateStudioProduct":   handle(h.createStudioProduct),
		"DescribeStudioProduct": handle(h.describeStudioProduct),
		"GetStudioProductList":  handle(h.getStudioProductList),
		"ModifyStudioProduct":   handle(h.modifyStudioProduct),
		"DeleteStudioProduct":   handle(h.deleteStudioProduct),
		"ReleaseStudioProduct":  handle(h.releaseStudioProduct),

		"DescribeProductDynamicRegister": handle(h.describeProductDynamicRegister),
		"ModifyProductDynamicRegister":   handle(h.modifyProductDynamicRegister),
		"DescribeDeviceLogs":             handle(h.describeDeviceLogs),

		"CreateDevice":             handle(h.createDevice),
		"DescribeDevice":           handle(h.describeDevice),
		"DeleteDevice":             handle(h.deleteDevice),
		"DeleteDevices":            handle(h.deleteDevices),
		"GetDeviceList":            handle(h.getDeviceList),
		"UpdateDevicesEnableState": handle(h.updateDevicesEnableState),
		"GetDeviceSumStatistics":   handle(h.getDeviceSumStatistics),
		"PublishMessage":           handle(h.publishMessage),

		"CreateTopicPolicy":   handle(h.createTopicPolicy),
		"DescribeTopicPolicy": handle(h.describeTopicPolicy),
		"ListTopicPolicy":     handle(h.listTopicPolicy),
		"ModifyTopicPolicy":   handle(h.modifyTopicPolicy),
		"DeleteTopicPolicy":   handle(h.deleteTopicPolicy),

		"DescribeModelDefinition": handle(h.describeModelDefinition),
		"ModifyModelDefinition":   handle(h.modifyModelDefinition),

		"DescribeDeviceData":        handle(h.describeDeviceData),
		"DescribeDeviceDataHistory": handle(h.describeDeviceDataHistory),
		"ControlDeviceData":         handle(h.controlDeviceData),
		"CallDeviceActionSync":      handle(h.callDeviceActionSync),
		"CallDeviceActionAsync":     handle(h.callDeviceActionAsync),
		"ListEventHistory":          handle(h.listEventHistory),

		"PublishAlertFenceEvent":   handle(h.publishAlertFenceEvent),
		"DescribeDeviceRawData":    handle(h.describeDeviceRawData),
		"DescribeDeviceCallResult": handle(h.describeDeviceCallResult),

		"BindProducts":                 handle(h.bindProducts),
		"UnbindProducts":               handle(h.unbindProducts),
		"DescribeGatewaySubProducts":   handle(h.describeGatewaySubProducts),
		"DescribeBindedProducts":       handle(h.describeBindedProducts),
		"BindDevices":                  handle(h.bindDevices),
		"UnbindDevices":                handle(h.unbindDevices),
		"GetGatewaySubDeviceList":      handle(h.getGatewaySubDeviceList),
		"DescribeGatewayBindDevices":   handle(h.describeGatewayBindDevices),
		"DescribeGatewaySubDeviceList": handle(h.describeGatewaySubDeviceList),
		"DescribeDeviceBindGateway":    handle(h.describeDeviceBindGateway),
		"SearchGatewaySubDevices":      handle(h.searchGatewaySubDevices),

		"PublishRRPCMessage":          handle(h.publishRRPCMessage),
		"CallDeviceRRPCSync":          handle(h.callDeviceRRPCSync),
		"PublishBroadcastMessage":     handle(h.publishBroadcastMessage),
		"ModifyRemoteConfig":          handle(h.modifyRemoteConfig),
		"DescribeRemoteConfig":        handle(h.describeRemoteConfig),
		"DeleteRemoteConfig":          handle(h.deleteRemoteConfig),
		"PushRemoteConfig":            handle(h.pushRemoteConfig),
		"ModifyTWeCallLicensePool":    handle(h.modifyTWeCallLicensePool),
		"DescribeTWeCallLicensePools": handle(h.describeTWeCallLicensePools),

		"GetCOSURL":                    handle(h.getCOSURL),
		"UploadFirmware":               handle(h.uploadFirmware),
		"UpdateFirmware":               handle(h.updateFirmware),
		"DescribeFirmware":             handle(h.describeFirmware),
		"ListFirmwares":                handle(h.listFirmwares),
		"BatchUpdateFirmware":          handle(h.batchUpdateFirmware),
		"PublishFirmwareUpdateMessage": handle(h.publishFirmwareUpdateMessage),
		"DescribeFirmwareTask":         handle(h.describeFirmwareTask),
		"DescribeFirmwareTasks":        handle(h.describeFirmwareTasks),
		"DescribeFirmwareTaskDevices":  handle(h.describeFirmwareTaskDevices),
		"DescribeFirmwareUpdateStatus": handle(h.describeFirmwareUpdateStatus),
		"DescribeDeviceFirmWare":       handle(h.describeDeviceFirmWare),
		"DescribeDeviceFirmwares":      handle(h.describeDeviceFirmwares),
		"CheckFirmwareUpdate":          handle(h.checkFirmwareUpdate),
		"UpdateOtaTaskStatus":          handle(h.updateOtaTaskStatus),
		// Resource management (Thingo-specific, docs/ota.md).
		"GetResourceUploadURL":          handle(h.getResourceUploadURL),
		"PushDeviceResource":            handle(h.pushDeviceResource),
		"DeleteDeviceResource":          handle(h.deleteDeviceResource),
		"DescribeDeviceResources":       handle(h.describeDeviceResources),
		"DescribeDeviceResourceUploads": handle(h.describeDeviceResourceUploads),
	}
}

// Default and maximum page sizes of list actions.
const (
	defaultLimit = 10
	maxLimit     = 100
)

func pageLimit(limit *int64) (int, error) {
	if limit == nil || *limit == 0 {
		return defaultLimit, nil
	}
	if *limit < 0 || *limit > maxLimit {
		return 0, newError(codeInvalidParameterValue, "parameter Limit: must be between 1 and 100")
	}
	return int(*limit), nil
}

func unixSec(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func projectEntry(p registry.Project) ProjectEntry {
	return ProjectEntry{
		ProjectId: p.ID, ProjectName: p.Name, ProjectDesc: p.Desc,
		CreateTime: uint64(unixSec(p.CreatedAt)), UpdateTime: uint64(unixSec(p.UpdatedAt)),
	}
}

func projectEntryEx(p registry.Project, c registry.ProjectCounts) ProjectEntryEx {
	return ProjectEntryEx{
		ProjectId: p.ID, ProjectName: p.Name, ProjectDesc: p.Desc,
		CreateTime: uint64(unixSec(p.CreatedAt)), UpdateTime: uint64(unixSec(p.UpdatedAt)),
		ProductCount: uint64(c.Products), DeviceCount: uint64(c.Devices), InstanceId: p.InstanceID,
	}
}

func (h *Handler) createProject(ctx context.Context, req *createProjectRequest) (*createProjectResponse, error) {
	p, err := h.reg.CreateProject(ctx, registry.ProjectInput{Name: *req.ProjectName, Desc: *req.ProjectDesc, InstanceID: req.InstanceId})
	if err != nil {
		return nil, err
	}
	return &createProjectResponse{Project: projectEntry(p)}, nil
}

func (h *Handler) describeProject(ctx context.Context, req *describeProjectRequest) (*describeProjectResponse, error) {
	p, c, err := h.reg.GetProject(ctx, *req.ProjectId)
	if err != nil {
		return nil, err
	}
	return &describeProjectResponse{Project: projectEntryEx(p, c)}, nil
}

func (h *Handler) getProjectList(ctx context.Context, req *getProjectListRequest) (*getProjectListResponse, error) {
	limit, err := pageLimit(req.Limit)
	if err != nil {
		return nil, err
	}
	if req.Offset < 0 {
		return nil, newError(codeInvalidParameterValue, "parameter Offset: must not be negative")
	}
	f := registry.ProjectFilter{ProjectID: req.ProjectId, Name: req.ProjectName, Offset: int(req.Offset), Limit: limit}
	out := &getProjectListResponse{Projects: []ProjectEntryEx{}}
	if req.ProductId != "" {
		p, err := h.reg.GetProduct(ctx, req.ProductId)
		if err != nil {
			return out, nil // no such product: no project matches
		}
		if f.ProjectID != "" && f.ProjectID != p.ProjectID {
			return out, nil
		}
		f.ProjectID = p.ProjectID
	}
	ps, total, err := h.reg.ListProjects(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		c, err := h.reg.CountProject(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		out.Projects = append(out.Projects, projectEntryEx(p, c))
	}
	out.Total = total
	return out, nil
}

func (h *Handler) modifyProject(ctx context.Context, req *modifyProjectRequest) (*modifyProjectResponse, error) {
	p, err := h.reg.ModifyProject(ctx, *req.ProjectId, registry.ProjectInput{Name: *req.ProjectName, Desc: *req.ProjectDesc})
	if err != nil {
		return nil, err
	}
	return &modifyProjectResponse{Project: projectEntry(p)}, nil
}

func (h *Handler) deleteProject(ctx context.Context, req *deleteProjectRequest) (*emptyResponse, error) {
	if err := h.reg.DeleteProject(ctx, *req.ProjectId); err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}
