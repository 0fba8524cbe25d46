package console

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// otaFirmware is what the OTA pages read of a FirmwareInfo.
type otaFirmware struct {
	Version     string
	Md5sum      string
	CreateTime  int64
	ProductName string
	Name        string
	Description string
	ProductId   string
}

// otaTaskRow is one upgrade task in a list.
type otaTaskRow struct {
	ProductId  string
	Version    string
	TaskId     uint64
	Status     int64
	CreateTime int64
}

// StatusText names the task's status.
func (t otaTaskRow) StatusText() string { return otaTaskStatusText(t.Status) }

// otaTaskStatusText names a task status (docs/ota.md).
func otaTaskStatusText(status int64) string {
	switch status {
	case 1:
		return "running"
	case 2:
		return "done"
	case 3:
		return "canceled"
	case 4:
		return "paused"
	default:
		return "status " + strconv.FormatInt(status, 10)
	}
}

// otaUploadValues are the upload form's fields.
type otaUploadValues struct {
	ProductId           string
	FirmwareVersion     string
	FirmwareName        string
	FirmwareDescription string
}

// otaPageData is the OTA overview.
type otaPageData struct {
	Products    []fleetProduct
	Product     string // the product filter ("" : all)
	Firmwares   []otaFirmware
	Tasks       []otaTaskRow
	Form        otaUploadValues
	FieldErrors map[string]string
}

// otaTaskFirmwares is how many of the newest firmwares the overview reads
// tasks of.
const otaTaskFirmwares = 50

// otaPage lists firmware and tasks and offers the upload form.
func (s *Server) otaPage(w http.ResponseWriter, r *http.Request) {
	s.renderOTA(w, r, http.StatusOK, otaUploadValues{ProductId: r.URL.Query().Get("product")}, nil)
}

// renderOTA renders the overview with the upload form's values and
// errors; an error without a field is the page error.
func (s *Server) renderOTA(w http.ResponseWriter, r *http.Request, status int, form otaUploadValues, formErr error) {
	ctx := r.Context()
	p := page{Title: "Firmware upgrades", Nav: "ota"}
	data := otaPageData{Product: r.URL.Query().Get("product"), Form: form, FieldErrors: map[string]string{}}
	if formErr != nil {
		if f := otaErrorField(formErr); f != "" {
			data.FieldErrors[f] = userMessage(formErr)
		} else {
			p.Error = userMessage(formErr)
		}
	}
	var err error
	if data.Products, _, err = s.fleetProducts(ctx); err == nil {
		data.Firmwares, err = s.otaFirmwares(ctx, data.Product)
	}
	if err == nil {
		data.Tasks, err = s.otaRecentTasks(ctx, data.Firmwares)
	}
	if err != nil {
		p.Error = userMessage(err)
		if status == http.StatusOK {
			status = http.StatusBadGateway
		}
	}
	p.Data = data
	s.render(w, r, status, "ota", p)
}

// otaErrorField names the upload form field an error is about.
func otaErrorField(err error) string {
	var fe *otaFieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	switch f := fieldOf(err); f {
	case "ProductID", "ProductId":
		return "ProductId"
	case "FirmwareVersion", "FirmwareName", "FirmwareDescription":
		return f
	case "Md5sum", "FileSize":
		return "File"
	}
	var ae *ActionError
	if errors.As(err, &ae) {
		switch {
		case strings.Contains(ae.Code, "FirmwareAlreadyExist"):
			return "FirmwareVersion"
		case strings.Contains(ae.Code, "ProductNotExist"):
			return "ProductId"
		case ae.Code == "InvalidParameterValue" && strings.Contains(ae.Message, "file"):
			return "File"
		}
	}
	return ""
}

// otaFieldError is a form value refused before any action ran.
type otaFieldError struct {
	Field, Message string
}

func (e *otaFieldError) Error() string { return e.Message }

// otaFirmwares lists firmware versions (of one product, or all), newest
// first.
func (s *Server) otaFirmwares(ctx context.Context, pid string) ([]otaFirmware, error) {
	var out []otaFirmware
	for pageNum := 1; len(out) < fleetMaxItems; pageNum++ {
		var resp struct {
			TotalCount int64
			Firmwares  []otaFirmware
		}
		req := map[string]any{"PageNum": pageNum, "PageSize": fleetPageSize}
		if pid != "" {
			req["ProductID"] = pid
		}
		if err := s.call(ctx, "ListFirmwares", req, &resp); err != nil {
			return nil, err
		}
		out = append(out, resp.Firmwares...)
		if len(resp.Firmwares) == 0 || int64(len(out)) >= resp.TotalCount {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreateTime > out[j].CreateTime })
	return out, nil
}

// otaTasks lists the tasks of one firmware version, newest first.
func (s *Server) otaTasks(ctx context.Context, pid, version string) ([]otaTaskRow, error) {
	var resp struct {
		TaskInfos []struct {
			TaskId     uint64
			Status     int64
			CreateTime int64
		}
	}
	req := map[string]any{"ProductID": pid, "FirmwareVersion": version, "Offset": 0, "Limit": fleetPageSize}
	if err := s.call(ctx, "DescribeFirmwareTasks", req, &resp); err != nil {
		return nil, err
	}
	out := make([]otaTaskRow, 0, len(resp.TaskInfos))
	for _, t := range resp.TaskInfos {
		out = append(out, otaTaskRow{ProductId: pid, Version: version, TaskId: t.TaskId, Status: t.Status, CreateTime: t.CreateTime})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].TaskId > out[j].TaskId })
	return out, nil
}

// otaRecentTasks gathers the tasks of the newest firmwares.
func (s *Server) otaRecentTasks(ctx context.Context, fws []otaFirmware) ([]otaTaskRow, error) {
	var out []otaTaskRow
	for i, f := range fws {
		if i == otaTaskFirmwares {
			break
		}
		ts, err := s.otaTasks(ctx, f.ProductId, f.Version)
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreateTime > out[j].CreateTime })
	return out, nil
}

// otaUploadLink runs GetCOSURL after checking the form (GetCOSURL refuses
// a version that exists, before any byte is sent).
func (s *Server) otaUploadLink(ctx context.Context, v otaUploadValues) (string, error) {
	switch {
	case v.ProductId == "":
		return "", &otaFieldError{"ProductId", "choose a product"}
	case v.FirmwareVersion == "":
		return "", &otaFieldError{"FirmwareVersion", "enter the firmware version (e.g. 1.0.1)"}
	}
	var resp struct{ Url string }
	if err := s.call(ctx, "GetCOSURL", map[string]string{"ProductID": v.ProductId, "FirmwareVersion": v.FirmwareVersion}, &resp); err != nil {
		return "", err // GetCOSURL also refuses an existing version
	}
	return resp.Url, nil
}

// otaRegister runs UploadFirmware for a stored file.
func (s *Server) otaRegister(ctx context.Context, v otaUploadValues, md5sum string, size int64) error {
	if size <= 0 {
		return &otaFieldError{"File", "the firmware file is empty"}
	}
	return s.call(ctx, "UploadFirmware", map[string]any{
		"ProductID": v.ProductId, "FirmwareVersion": v.FirmwareVersion, "Md5sum": md5sum, "FileSize": size,
		"FirmwareName": v.FirmwareName, "FirmwareDescription": v.FirmwareDescription,
	}, nil)
}

// otaJSONError answers a script with the message and the field it is about.
func otaJSONError(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": userMessage(err), "field": otaErrorField(err)})
}

// otaUploadURL (script) returns the upload link for a new version.
func (s *Server) otaUploadURL(w http.ResponseWriter, r *http.Request) {
	var v otaUploadValues
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid request: " + err.Error()})
		return
	}
	u, err := s.otaUploadLink(r.Context(), v)
	if err != nil {
		otaJSONError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"Url": u})
}

// otaRegisterFirmware (script) records a version whose file the browser
// PUT to the upload link; Md5sum is the link's ETag.
func (s *Server) otaRegisterFirmware(w http.ResponseWriter, r *http.Request) {
	var req struct {
		otaUploadValues
		Md5sum   string
		FileSize int64
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid request: " + err.Error()})
		return
	}
	if err := s.otaRegister(r.Context(), req.otaUploadValues, req.Md5sum, req.FileSize); err != nil {
		otaJSONError(w, err)
		return
	}
	s.log.Info("console: firmware uploaded", "product", req.ProductId, "version", req.FirmwareVersion, "size", req.FileSize)
	loc := fleetPath("ota", "firmware", req.ProductId, req.FirmwareVersion) + "?flash=" +
		url.QueryEscape("firmware "+req.FirmwareVersion+" uploaded")
	writeJSON(w, http.StatusOK, map[string]string{"Location": loc})
}

// otaUploadForm is the upload without JavaScript: a multipart form whose
// file is streamed to the upload link (the same GetCOSURL and
// UploadFirmware actions as the script uses).
func (s *Server) otaUploadForm(w http.ResponseWriter, r *http.Request) {
	v, err := s.otaReceiveUpload(r)
	if err != nil {
		status := http.StatusBadRequest
		var ae *ActionError
		if errors.As(err, &ae) && ae.Code == "InternalError" {
			status = http.StatusBadGateway
		}
		s.renderOTA(w, r, status, v, err)
		return
	}
	s.log.Info("console: firmware uploaded", "product", v.ProductId, "version", v.FirmwareVersion)
	fleetRedirect(w, r, fleetPath("ota", "firmware", v.ProductId, v.FirmwareVersion), "firmware "+v.FirmwareVersion+" uploaded")
}

// otaReceiveUpload reads the multipart form, stores the file and records
// the version. The form values come back for re-rendering on error.
func (s *Server) otaReceiveUpload(r *http.Request) (otaUploadValues, error) {
	ctx := r.Context()
	if r.MultipartForm != nil { // already parsed (the CSRF check read the form)
		v := otaFormValues(r.MultipartForm.Value)
		files := r.MultipartForm.File["File"]
		if len(files) == 0 || files[0].Size == 0 {
			if _, err := s.otaUploadLink(ctx, v); err != nil {
				return v, err
			}
			return v, &otaFieldError{"File", "choose a firmware file"}
		}
		f, err := files[0].Open()
		if err != nil {
			return v, fmt.Errorf("console: reading the uploaded file: %w", err)
		}
		defer f.Close()
		return v, s.otaStore(ctx, v, f, files[0].Size)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return otaUploadValues{}, &otaFieldError{"File", "the form must be sent as multipart/form-data"}
	}
	values := map[string][]string{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return otaFormValues(values), &otaFieldError{"File", "could not read the form: " + err.Error()}
		}
		if part.FormName() == "File" && part.FileName() != "" {
			v := otaFormValues(values)
			err := s.otaStore(ctx, v, part, -1)
			_ = part.Close()
			return v, err
		}
		b, err := io.ReadAll(io.LimitReader(part, 64<<10))
		_ = part.Close()
		if err != nil {
			return otaFormValues(values), &otaFieldError{"File", "could not read the form: " + err.Error()}
		}
		values[part.FormName()] = append(values[part.FormName()], string(b))
	}
	v := otaFormValues(values)
	if _, err := s.otaUploadLink(ctx, v); err != nil {
		return v, err
	}
	return v, &otaFieldError{"File", "choose a firmware file"}
}

func otaFormValues(m map[string][]string) otaUploadValues {
	get := func(k string) string {
		if vs := m[k]; len(vs) > 0 {
			return strings.TrimSpace(vs[0])
		}
		return ""
	}
	return otaUploadValues{
		ProductId: get("ProductId"), FirmwareVersion: get("FirmwareVersion"),
		FirmwareName: get("FirmwareName"), FirmwareDescription: get("FirmwareDescription"),
	}
}

// otaStore gets an upload link, streams body to it (size -1: unknown)
// while computing its MD5, and records the version.
func (s *Server) otaStore(ctx context.Context, v otaUploadValues, body io.Reader, size int64) error {
	link, err := s.otaUploadLink(ctx, v)
	if err != nil {
		return err
	}
	sum, n, err := otaPut(ctx, link, body, size)
	if err != nil {
		return err
	}
	return s.otaRegister(ctx, v, sum, n)
}

// otaPut PUTs body to a signed upload link and returns its MD5 and size.
func otaPut(ctx context.Context, link string, body io.Reader, size int64) (string, int64, error) {
	h := md5.New()
	counted := &otaCounter{r: io.TeeReader(body, h)}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, link, counted)
	if err != nil {
		return "", 0, fmt.Errorf("console: upload link: %w", err)
	}
	req.ContentLength = size
	if size < 0 {
		req.ContentLength = -1
	}
	client := &http.Client{} // the link is signed: no credential travels with it
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, &otaFieldError{"File", "storing the file failed: " + err.Error()}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return "", 0, &otaFieldError{"File", fmt.Sprintf("storing the file failed: %s %s", resp.Status, strings.TrimSpace(string(msg)))}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if etag := strings.Trim(resp.Header.Get("ETag"), `"`); etag != "" && etag != sum {
		return "", 0, &otaFieldError{"File", "the stored file differs from the one sent (MD5 " + etag + ", sent " + sum + ")"}
	}
	return sum, counted.n, nil
}

// otaCounter counts the bytes read through it.
type otaCounter struct {
	r io.Reader
	n int64
}

func (c *otaCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
