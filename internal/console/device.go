package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/commlog"
	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// Sizes of the device page.
const (
	deviceRecentLog = 100 // commlog entries rendered with the page
	deviceEventRows = 20  // ListEventHistory rows
	deviceLogRows   = 20  // DescribeDeviceLogs rows
)

// deviceRoutes mounts the device detail page and its live endpoints.
func (s *Server) deviceRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /console/devices/{pid}/{dn}", s.devicePage)
	s.handle(mux, "GET /console/devices/{pid}/{dn}/live", s.deviceLive)
	s.handle(mux, "POST /console/devices/{pid}/{dn}/control", s.deviceControl)
	s.handle(mux, "POST /console/devices/{pid}/{dn}/action", s.deviceAction)
	s.handle(mux, "GET /console/devices/{pid}/{dn}/history", s.deviceHistory)
}

// devEventRow is one ListEventHistory item.
type devEventRow struct {
	TimeStamp int64
	EventId   string
	Type      string
	Data      string
}

// devLogRow is one DescribeDeviceLogs item.
type devLogRow struct {
	Time       uint64
	DeviceTime string
	Level      string
	Content    string
}

// Seconds is the reception time in unix seconds.
func (l devLogRow) Seconds() int64 { return int64(l.Time / 1000) }

// devLogView is a commlog entry as the page shows it.
type devLogView struct {
	commlog.Entry
	Pretty string // the payload, indented when it is JSON
}

// Arrow is the direction's symbol.
func (l devLogView) Arrow() string { return devArrow(l.Direction) }

// Clock is the entry's time of day (UTC).
func (l devLogView) Clock() string { return l.Time.UTC().Format("15:04:05.000") }

func devArrow(d commlog.Direction) string {
	switch d {
	case commlog.Up:
		return "↑"
	case commlog.Down:
		return "↓"
	}
	return "•"
}

// devPageData is the device page's Data.
type devPageData struct {
	Device     deviceItem
	PathPID    string // url-escaped
	PathDN     string
	Model      devModelView
	HasModel   bool
	ModelError string
	DataError  string
	Events     []devEventRow
	EventError string
	Logs       []devLogRow
	LogsError  string
	Traffic    bool
	CommLog    []devLogView
	// ClientIP is the address of the latest connection seen in the live
	// log ("" when none is there: DescribeDevice does not tell it).
	ClientIP string
}

// devicePage renders GET /console/devices/{pid}/{dn}.
func (s *Server) devicePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	dev, err := s.describeDevice(ctx, pid, dn)
	if err != nil {
		s.render(w, r, devActionStatus(err), "device", page{Title: dn, Nav: "devices", Error: userMessage(err), Data: devPageData{
			Device: deviceItem{DeviceName: dn, ProductId: pid}, PathPID: url.PathEscape(pid), PathDN: url.PathEscape(dn),
		}})
		return
	}
	v := devPageData{Device: dev, PathPID: url.PathEscape(pid), PathDN: url.PathEscape(dn), Traffic: s.cfg.Traffic != nil}
	m, err := s.devThingModel(ctx, pid)
	switch {
	case err != nil:
		v.ModelError = userMessage(err)
	case m != nil:
		v.HasModel = true
	}
	data, err := s.devData(ctx, pid, dn)
	if err != nil && v.HasModel {
		v.DataError = userMessage(err)
	}
	v.Model = buildDevModelView(m, data)
	v.Events, v.EventError = s.devEvents(ctx, pid, dn)
	v.Logs, v.LogsError = s.devLogs(ctx, pid, dn)
	if s.cfg.Traffic != nil {
		recent := s.cfg.Traffic.Recent(pid, dn, deviceRecentLog)
		for _, e := range recent {
			v.CommLog = append(v.CommLog, devLogView{Entry: e, Pretty: devPrettyPayload(e.Payload)})
		}
		v.ClientIP = devClientIP(recent)
	}
	s.render(w, r, http.StatusOK, "device", page{Title: dn + " · " + pid, Nav: "devices", Data: v})
}

// devThingModel returns the product's parsed thing model (nil, nil: none
// defined).
func (s *Server) devThingModel(ctx context.Context, pid string) (*thingmodel.Model, error) {
	var resp struct {
		Model struct{ ModelDefine string }
	}
	if err := s.call(ctx, "DescribeModelDefinition", map[string]string{"ProductId": pid}, &resp); err != nil {
		var ae *ActionError
		if errors.As(err, &ae) && strings.Contains(ae.Code, "ModelDefine") {
			return nil, nil
		}
		return nil, err
	}
	if strings.TrimSpace(resp.Model.ModelDefine) == "" {
		return nil, nil
	}
	return thingmodel.Parse([]byte(resp.Model.ModelDefine))
}

// devData runs DescribeDeviceData and decodes its Data.
func (s *Server) devData(ctx context.Context, pid, dn string) (map[string]devDataValue, error) {
	var resp struct{ Data string }
	if err := s.call(ctx, "DescribeDeviceData", map[string]string{"ProductId": pid, "DeviceName": dn}, &resp); err != nil {
		return nil, err
	}
	return parseDevData(resp.Data)
}

// devEvents lists the latest events (newest first) or says why not.
func (s *Server) devEvents(ctx context.Context, pid, dn string) ([]devEventRow, string) {
	var resp struct{ EventHistory []devEventRow }
	err := s.call(ctx, "ListEventHistory", map[string]any{
		"ProductId": pid, "DeviceName": dn, "Size": deviceEventRows,
		"StartTime": s.now().Add(-7 * 24 * time.Hour).Unix(),
	}, &resp)
	if err != nil {
		return nil, userMessage(err)
	}
	return resp.EventHistory, ""
}

// devLogs lists the latest uploaded log lines or says why not.
func (s *Server) devLogs(ctx context.Context, pid, dn string) ([]devLogRow, string) {
	var resp struct{ Logs []devLogRow }
	err := s.call(ctx, "DescribeDeviceLogs", map[string]any{"ProductId": pid, "DeviceName": dn, "Limit": deviceLogRows}, &resp)
	if err != nil {
		return nil, userMessage(err)
	}
	return resp.Logs, ""
}

// devPrettyPayload indents a JSON payload; other text is kept as is.
func devPrettyPayload(p string) string {
	var buf bytes.Buffer
	if p == "" || json.Indent(&buf, []byte(p), "", "  ") != nil {
		return p
	}
	return buf.String()
}
