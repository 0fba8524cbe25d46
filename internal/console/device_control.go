package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// Limits of the device page's script endpoints.
const (
	devMaxBody         = 64 << 10
	devMaxHistoryHours = 24 * 30
	devHistoryPage     = 500
	devHistoryPages    = 4 // at most 2000 points per chart
)

// devControlRequest is what device.js posts to .../control.
type devControlRequest struct {
	ID    string          `json:"id"`
	Value json.RawMessage `json:"value"`
}

// devActionRequest is what device.js posts to .../action.
type devActionRequest struct {
	ID     string                     `json:"id"`
	Params map[string]json.RawMessage `json:"params"`
}

// devReadJSON decodes a small JSON request body into v.
func devReadJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, devMaxBody+1))
	if err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	if len(body) > devMaxBody {
		return errors.New("request too large")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("the request is not the expected JSON: %w", err)
	}
	return nil
}

// devPrepare is the common start of the device page's write endpoints: it
// decodes the JSON request into req, loads the product's thing model and
// lets build check the request against it and produce the payload sent to the
// device. On failure it answers the script with a JSON error (400 for a bad
// request, the status of devActionStatus for a failed lookup) and reports
// false.
func (s *Server) devPrepare(w http.ResponseWriter, r *http.Request, req any, build func(*thingmodel.Model) ([]byte, error)) ([]byte, bool) {
	if err := devReadJSON(r, req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return nil, false
	}
	m, err := s.devThingModel(r.Context(), r.PathValue("pid"))
	if err != nil {
		devFail(w, err)
		return nil, false
	}
	payload, err := build(m)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return nil, false
	}
	return payload, true
}

// devFail answers a script whose management action failed.
func devFail(w http.ResponseWriter, err error) {
	writeJSON(w, devActionStatus(err), map[string]string{"error": devActionText(err)})
}

// deviceControl handles POST .../control: {"id":..., "value":...} becomes
// ControlDeviceData with Data {"id": value}.
func (s *Server) deviceControl(w http.ResponseWriter, r *http.Request) {
	var req devControlRequest
	data, ok := s.devPrepare(w, r, &req, func(m *thingmodel.Model) ([]byte, error) {
		return devControlData(m, req.ID, req.Value)
	})
	if !ok {
		return
	}
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	var resp struct{ Result string }
	err := s.call(r.Context(), "ControlDeviceData", map[string]string{"ProductId": pid, "DeviceName": dn, "Data": string(data)}, &resp)
	if err != nil {
		devFail(w, err)
		return
	}
	var res struct {
		Sent        int
		ClientToken string `json:"clientToken"`
	}
	_ = json.Unmarshal([]byte(resp.Result), &res)
	if res.Sent == 0 {
		s.log.Info("console control kept for an offline device", "product", pid, "device", dn, "id", req.ID)
		writeJSON(w, http.StatusConflict, map[string]any{
			"error":       "device is offline: the value is kept and sent when the device asks for its status",
			"clientToken": res.ClientToken,
		})
		return
	}
	s.log.Info("console control sent", "product", pid, "device", dn, "id", req.ID, "client_token", res.ClientToken)
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "clientToken": res.ClientToken})
}

// deviceAction handles POST .../action: {"id":..., "params":{...}} becomes
// CallDeviceActionSync; the answer carries the device's OutputParams.
func (s *Server) deviceAction(w http.ResponseWriter, r *http.Request) {
	var req devActionRequest
	input, ok := s.devPrepare(w, r, &req, func(m *thingmodel.Model) ([]byte, error) {
		return devActionInput(m, req.ID, req.Params)
	})
	if !ok {
		return
	}
	var resp struct {
		ClientToken  string
		OutputParams string
		Status       string
	}
	err := s.call(r.Context(), "CallDeviceActionSync", map[string]string{
		"ProductId": r.PathValue("pid"), "DeviceName": r.PathValue("dn"), "ActionId": req.ID, "InputParams": string(input),
	}, &resp)
	if err != nil {
		devFail(w, err)
		return
	}
	out := json.RawMessage(resp.OutputParams)
	if !json.Valid(out) {
		out, _ = json.Marshal(resp.OutputParams)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "output": out, "status": resp.Status, "clientToken": resp.ClientToken})
}

// devHistory is the JSON of .../history.
type devHistory struct {
	ID     string       `json:"id"`
	Type   string       `json:"type"`
	From   int64        `json:"from"` // unix ms
	To     int64        `json:"to"`
	Points [][2]float64 `json:"points"` // [unix ms, value]
	More   bool         `json:"more"`   // cut at the point limit
}

// deviceHistory handles GET .../history?id=...&hours=N for the charts.
func (s *Server) deviceHistory(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	id := r.URL.Query().Get("id")
	hours := 24
	if h := r.URL.Query().Get("hours"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil || n < 1 || n > devMaxHistoryHours {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("hours must be between 1 and %d", devMaxHistoryHours)})
			return
		}
		hours = n
	}
	m, err := s.devThingModel(ctx, pid)
	if err != nil {
		devFail(w, err)
		return
	}
	var p thingmodel.Property
	ok := false
	if m != nil {
		p, ok = m.Property(id)
	}
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("%v %q", errDevUnknownProperty, id)})
		return
	}
	to := s.now()
	from := to.Add(-time.Duration(hours) * time.Hour)
	ans := devHistory{ID: id, Type: p.Define.Type, From: from.UnixMilli(), To: to.UnixMilli(), Points: [][2]float64{}}
	cursor := ""
	for range devHistoryPages {
		var resp struct {
			Listover bool
			Context  string
			Results  []struct{ Time, Value string }
		}
		err := s.call(ctx, "DescribeDeviceDataHistory", map[string]any{
			"ProductId": pid, "DeviceName": dn, "FieldName": id, "MinTime": ans.From, "MaxTime": ans.To,
			"Limit": devHistoryPage, "Context": cursor,
		}, &resp)
		if err != nil {
			devFail(w, err)
			return
		}
		for _, it := range resp.Results {
			t, err1 := strconv.ParseInt(it.Time, 10, 64)
			v, ok := devNumeric(it.Value)
			if err1 == nil && ok {
				ans.Points = append(ans.Points, [2]float64{float64(t), v})
			}
		}
		if resp.Listover || resp.Context == "" {
			ans.More = false
			break
		}
		ans.More, cursor = true, resp.Context
	}
	writeJSON(w, http.StatusOK, ans)
}

// devNumeric reads a history value as a number (bools as 0/1).
func devNumeric(s string) (float64, bool) {
	switch strings.TrimSpace(s) {
	case "true":
		return 1, true
	case "false":
		return 0, true
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return v, err == nil
}

// devActionStatus is the HTTP status of a failed action for a script.
func devActionStatus(err error) int {
	var ae *ActionError
	if !errors.As(err, &ae) {
		return http.StatusInternalServerError
	}
	switch {
	case strings.HasPrefix(ae.Code, "ResourceNotFound"):
		return http.StatusNotFound
	case strings.HasPrefix(ae.Code, "InvalidParameter"), strings.HasPrefix(ae.Code, "MissingParameter"):
		return http.StatusBadRequest
	case strings.HasPrefix(ae.Code, "FailedOperation"):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// devActionText is the message a script shows for a failed action.
func devActionText(err error) string {
	var ae *ActionError
	if errors.As(err, &ae) {
		switch ae.Code {
		case "FailedOperation.DeviceOffline":
			return "device is offline"
		case "FailedOperation.ActionUnreachable":
			return "device is offline (or not subscribed to $thing/down/action)"
		case "FailedOperation.Timeout":
			return "the device did not answer in time"
		}
	}
	return userMessage(err)
}
