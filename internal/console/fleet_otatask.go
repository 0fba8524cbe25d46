package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// otaTaskForm is the create-task form's values.
type otaTaskForm struct {
	DeviceNames         map[string]bool
	FirmwareOriVersion  string
	TimeoutInterval     string
	MaxRetryNum         string
	RolloutBatch        string
	PauseFailurePercent string
	OverrideMode        bool
}

// otaFirmwareData is the firmware page.
type otaFirmwareData struct {
	Firmware    otaFirmware
	Tasks       []otaTaskRow
	Devices     []fleetDevice
	Truncated   bool
	Form        otaTaskForm
	FieldErrors map[string]string
}

// otaFirmwarePage shows one firmware version, its tasks and the form to
// start an upgrade.
func (s *Server) otaFirmwarePage(w http.ResponseWriter, r *http.Request) {
	s.renderFirmware(w, r, http.StatusOK, otaTaskForm{DeviceNames: map[string]bool{}}, nil)
}

func (s *Server) renderFirmware(w http.ResponseWriter, r *http.Request, status int, form otaTaskForm, formErr error) {
	ctx := r.Context()
	pid, version := r.PathValue("pid"), r.PathValue("version")
	p := page{Title: "Firmware " + version, Nav: "ota"}
	var fw struct {
		Version, ProductId, Name, Description, Md5sum, ProductName string
		Createtime                                                 int64
	}
	if err := s.call(ctx, "DescribeFirmware", map[string]string{"ProductID": pid, "FirmwareVersion": version}, &fw); err != nil {
		p.Error = userMessage(err)
		s.render(w, r, otaStatusOf(err), "firmware", p)
		return
	}
	data := otaFirmwareData{
		Firmware: otaFirmware{Version: fw.Version, Md5sum: fw.Md5sum, CreateTime: fw.Createtime, ProductName: fw.ProductName,
			Name: fw.Name, Description: fw.Description, ProductId: fw.ProductId},
		Form: form, FieldErrors: map[string]string{},
	}
	if formErr != nil {
		field := fieldOf(formErr)
		var fe *otaFieldError
		if errors.As(formErr, &fe) {
			field = fe.Field
		}
		switch field {
		case "DeviceNames", "FirmwareOriVersion", "TimeoutInterval", "MaxRetryNum", "RolloutBatch", "PauseFailurePercent":
			data.FieldErrors[field] = userMessage(formErr)
		case "RolloutBatch and PauseFailurePercent":
			data.FieldErrors["RolloutBatch"] = userMessage(formErr)
		default:
			data.FieldErrors["DeviceNames"] = userMessage(formErr)
		}
	}
	var err error
	if data.Tasks, err = s.otaTasks(ctx, pid, version); err == nil {
		data.Devices, data.Truncated, err = s.fleetProductDevices(ctx, pid)
	}
	if err != nil {
		p.Error = userMessage(err)
		status = http.StatusBadGateway
	}
	p.Data = data
	s.render(w, r, status, "firmware", p)
}

// otaStatusOf is the HTTP status of a failed lookup.
func otaStatusOf(err error) int {
	var ae *ActionError
	if errors.As(err, &ae) && (strings.HasPrefix(ae.Code, "ResourceNotFound") || strings.HasPrefix(ae.Code, "InvalidParameter")) {
		return http.StatusNotFound
	}
	return http.StatusBadGateway
}

// otaCreateTask starts an upgrade task (BatchUpdateFirmware).
func (s *Server) otaCreateTask(w http.ResponseWriter, r *http.Request) {
	pid, version := r.PathValue("pid"), r.PathValue("version")
	if err := r.ParseForm(); err != nil {
		s.renderFirmware(w, r, http.StatusBadRequest, otaTaskForm{DeviceNames: map[string]bool{}}, &otaFieldError{"DeviceNames", "could not read the form"})
		return
	}
	form := otaTaskForm{
		DeviceNames:         map[string]bool{},
		FirmwareOriVersion:  strings.TrimSpace(r.PostFormValue("FirmwareOriVersion")),
		TimeoutInterval:     strings.TrimSpace(r.PostFormValue("TimeoutInterval")),
		MaxRetryNum:         strings.TrimSpace(r.PostFormValue("MaxRetryNum")),
		RolloutBatch:        strings.TrimSpace(r.PostFormValue("RolloutBatch")),
		PauseFailurePercent: strings.TrimSpace(r.PostFormValue("PauseFailurePercent")),
		OverrideMode:        r.PostFormValue("OverrideMode") != "",
	}
	var names []string
	for _, v := range r.PostForm["DeviceName"] {
		for _, n := range fleetSplitNames(v) {
			if !form.DeviceNames[n] {
				form.DeviceNames[n] = true
				names = append(names, n)
			}
		}
	}
	req, err := otaTaskRequest(pid, version, names, form)
	if err != nil {
		s.renderFirmware(w, r, http.StatusBadRequest, form, err)
		return
	}
	var resp struct{ TaskId uint64 }
	if err := s.call(r.Context(), "BatchUpdateFirmware", req, &resp); err != nil {
		s.renderFirmware(w, r, http.StatusBadRequest, form, err)
		return
	}
	id := strconv.FormatUint(resp.TaskId, 10)
	s.log.Info("console: firmware task created", "product", pid, "version", version, "task", id)
	fleetRedirect(w, r, fleetPath("ota", "tasks", pid, version, id), "upgrade task "+id+" started")
}

// otaTaskRequest builds BatchUpdateFirmware's parameters from the form.
func otaTaskRequest(pid, version string, names []string, form otaTaskForm) (map[string]any, error) {
	if len(names) == 0 && form.FirmwareOriVersion == "" {
		return nil, &otaFieldError{"DeviceNames", "choose the devices to upgrade, or enter the version they run now"}
	}
	req := map[string]any{"ProductID": pid, "FirmwareVersion": version}
	if len(names) > 0 {
		req["DeviceNames"] = names
	}
	if form.FirmwareOriVersion != "" {
		req["FirmwareOriVersion"] = form.FirmwareOriVersion
	}
	if form.OverrideMode {
		req["OverrideMode"] = 1
	}
	for _, f := range []struct{ name, value string }{
		{"TimeoutInterval", form.TimeoutInterval}, {"MaxRetryNum", form.MaxRetryNum},
		{"RolloutBatch", form.RolloutBatch}, {"PauseFailurePercent", form.PauseFailurePercent},
	} {
		if f.value == "" {
			continue
		}
		n, err := strconv.ParseInt(f.value, 10, 64)
		if err != nil || n < 0 {
			return nil, &otaFieldError{f.name, f.name + " must be a whole number, 0 or more"}
		}
		req[f.name] = n
	}
	return req, nil
}

// otaTaskDevice is one device of a task (DeviceUpdateStatus).
type otaTaskDevice struct {
	DeviceName      string
	LastProcessTime int64
	Status          int64
	StatusText      string
	ErrMsg          string
	Retcode         int64
	DstVersion      string
	OriVersion      string
	Percent         int64
	RetryNum        int64
}

// otaDeviceStatusText names a device's upgrade state (docs/ota.md).
func otaDeviceStatusText(status int64) string {
	switch status {
	case 1:
		return "pending"
	case 2:
		return "pushed"
	case 3:
		return "downloading"
	case 4:
		return "burning"
	case 5:
		return "failed"
	case 6:
		return "done"
	case 9:
		return "canceled"
	default:
		return "status " + strconv.FormatInt(status, 10)
	}
}

// otaProgress is a task's state: the task page and its JSON.
type otaProgress struct {
	ProductId       string
	Version         string
	TaskId          uint64
	Status          int64
	StatusText      string
	OriginalVersion string
	CreateTime      int64
	RolloutBatch    int64
	Finished        bool // done or canceled: nothing changes any more
	Total           int64
	Counts          map[string]int
	Devices         []otaTaskDevice
}

// otaLoadProgress reads a task and its devices.
func (s *Server) otaLoadProgress(ctx context.Context, pid, version, id string) (*otaProgress, error) {
	taskID, err := strconv.ParseUint(id, 10, 64)
	if err != nil || taskID == 0 {
		return nil, &ActionError{Action: "DescribeFirmwareTask", Code: "ResourceNotFound.FirmwareTaskNotExist", Message: "no such task " + strconv.Quote(id)}
	}
	var t struct {
		TaskId          uint64
		Status          int64
		CreateTime      int64
		OriginalVersion string
		RolloutBatch    int64
	}
	req := map[string]any{"ProductID": pid, "FirmwareVersion": version, "TaskId": taskID}
	if err := s.call(ctx, "DescribeFirmwareTask", req, &t); err != nil {
		return nil, err
	}
	out := &otaProgress{
		ProductId: pid, Version: version, TaskId: t.TaskId, Status: t.Status, StatusText: otaTaskStatusText(t.Status),
		OriginalVersion: t.OriginalVersion, CreateTime: t.CreateTime, RolloutBatch: t.RolloutBatch,
		Finished: t.Status == 2 || t.Status == 3, Counts: map[string]int{}, Devices: []otaTaskDevice{},
	}
	for len(out.Devices) < fleetMaxItems {
		var resp struct {
			Total   int64
			Devices []otaTaskDevice
		}
		req := map[string]any{
			"ProductID": pid, "FirmwareVersion": version, "Offset": len(out.Devices), "Limit": fleetPageSize,
			"Filters": []map[string]string{{"Key": "TaskId", "Value": strconv.FormatUint(taskID, 10)}},
		}
		if err := s.call(ctx, "DescribeFirmwareTaskDevices", req, &resp); err != nil {
			return nil, err
		}
		out.Total = resp.Total
		for _, d := range resp.Devices {
			d.StatusText = otaDeviceStatusText(d.Status)
			out.Counts[d.StatusText]++
			out.Devices = append(out.Devices, d)
		}
		if len(resp.Devices) == 0 || int64(len(out.Devices)) >= resp.Total {
			break
		}
	}
	return out, nil
}

// otaTaskPage shows a task's per-device progress (ota.js refreshes it).
func (s *Server) otaTaskPage(w http.ResponseWriter, r *http.Request) {
	pid, version, id := r.PathValue("pid"), r.PathValue("version"), r.PathValue("id")
	p := page{Title: "Upgrade task " + id, Nav: "ota"}
	prog, err := s.otaLoadProgress(r.Context(), pid, version, id)
	if err != nil {
		p.Error = userMessage(err)
		s.render(w, r, otaStatusOf(err), "otatask", p)
		return
	}
	p.Data = prog
	s.render(w, r, http.StatusOK, "otatask", p)
}

// otaTaskProgress (script) answers the task's progress as JSON.
func (s *Server) otaTaskProgress(w http.ResponseWriter, r *http.Request) {
	prog, err := s.otaLoadProgress(r.Context(), r.PathValue("pid"), r.PathValue("version"), r.PathValue("id"))
	if err != nil {
		writeJSON(w, otaStatusOf(err), map[string]string{"error": userMessage(err)})
		return
	}
	writeJSON(w, http.StatusOK, prog)
}

// otaTaskStatus cancels (3), pauses (4) or resumes (1) a task.
func (s *Server) otaTaskStatus(w http.ResponseWriter, r *http.Request) {
	pid, version, id := r.PathValue("pid"), r.PathValue("version"), r.PathValue("id")
	back := fleetPath("ota", "tasks", pid, version, id)
	taskID, err := strconv.ParseInt(id, 10, 64)
	if err != nil || taskID <= 0 {
		http.NotFound(w, r)
		return
	}
	status, err := strconv.ParseInt(r.PostFormValue("Status"), 10, 64)
	words := map[int64]string{3: "canceled", 4: "paused", 1: "resumed"}
	if err != nil || words[status] == "" {
		s.otaTaskError(w, r, "Status must be 3 (cancel), 4 (pause) or 1 (resume)")
		return
	}
	req := map[string]any{"ProductId": pid, "TaskId": taskID, "Status": status}
	if err := s.call(r.Context(), "UpdateOtaTaskStatus", req, nil); err != nil {
		s.otaTaskError(w, r, userMessage(err))
		return
	}
	fleetRedirect(w, r, back, "task "+id+" "+words[status])
}

// otaTaskPush pushes a pending device's upgrade now
// (PublishFirmwareUpdateMessage).
func (s *Server) otaTaskPush(w http.ResponseWriter, r *http.Request) {
	pid, version, id := r.PathValue("pid"), r.PathValue("version"), r.PathValue("id")
	dn := r.PostFormValue("DeviceName")
	if err := s.call(r.Context(), "PublishFirmwareUpdateMessage", map[string]string{"ProductID": pid, "DeviceName": dn}, nil); err != nil {
		s.otaTaskError(w, r, userMessage(err))
		return
	}
	fleetRedirect(w, r, fleetPath("ota", "tasks", pid, version, id), "upgrade pushed to "+dn)
}

// otaTaskError re-renders the task page with msg.
func (s *Server) otaTaskError(w http.ResponseWriter, r *http.Request, msg string) {
	p := page{Title: "Upgrade task " + r.PathValue("id"), Nav: "ota", Error: msg}
	prog, err := s.otaLoadProgress(r.Context(), r.PathValue("pid"), r.PathValue("version"), r.PathValue("id"))
	if err != nil {
		p.Error = msg + "; " + userMessage(err)
		s.render(w, r, otaStatusOf(err), "otatask", p)
		return
	}
	p.Data = prog
	s.render(w, r, http.StatusBadRequest, "otatask", p)
}
