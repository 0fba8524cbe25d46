package twecall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/thingo-iot/thingo/protocol"
)

// Reply codes of the TWecall methods.
const (
	CodeOK    = 0
	CodeError = 1
)

// Publisher sends a message to a device.
type Publisher interface {
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Service answers TWecall requests through a Provider; it is safe for
// concurrent use.
type Service struct {
	prov Provider
	pub  Publisher
	log  *slog.Logger
}

// New returns a Service; log may be nil.
func New(prov Provider, pub Publisher, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{prov: prov, pub: pub, log: log}
}

type request struct {
	Method      string          `json:"method"`
	ClientToken json.RawMessage `json:"clientToken"`
	Params      struct {
		// encoding/json matches names case-insensitively: ModelId and
		// modelId both land here.
		ModelID          string `json:"modelId"`
		MiniProgramAppID string `json:"miniProgramAppId"`
		PkgType          *int   `json:"pkgType"`
	} `json:"params"`
}

type reply struct {
	Method      string          `json:"method"`
	ClientToken json.RawMessage `json:"clientToken"`
	Code        int             `json:"code"`
	Status      string          `json:"status"`
	Params      any             `json:"params,omitempty"`
}

type activeParams struct {
	ModelID    string `json:"modelId"`
	SN         string `json:"sn"`
	PkgType    int    `json:"pkgType"`
	ExpireTime int64  `json:"ExpireTime"`
}

// HandleUplink answers a request on `$twecall/up/service/{pid}/{dn}`.
func (s *Service) HandleUplink(ctx context.Context, t protocol.Topic, payload []byte) {
	if t.Family != protocol.FamilyTWecall || t.Direction != protocol.Up {
		return
	}
	var req request
	if err := json.Unmarshal(payload, &req); err != nil {
		s.log.Debug("$twecall request ignored", "product_id", t.ProductID, "device_name", t.DeviceName)
		return
	}
	d := Device{ProductID: t.ProductID, DeviceName: t.DeviceName}
	rep := reply{Method: req.Method + "_reply", ClientToken: token(req.ClientToken), Status: "success"}
	var err error
	switch req.Method {
	case "get_wechat_sn_ticket":
		var ticket string
		ticket, err = s.prov.SNTicket(ctx, d, req.Params.MiniProgramAppID, req.Params.ModelID)
		if err == nil {
			rep.Params = map[string]string{"snTicket": ticket}
		}
	case "active_device_voip_license":
		if req.Params.PkgType == nil {
			err = ErrBadPkgType
			break
		}
		var a Activation
		a, err = s.prov.ActivateLicense(ctx, d, *req.Params.PkgType, req.Params.MiniProgramAppID, req.Params.ModelID)
		if err == nil {
			rep.Params = activeParams{ModelID: a.ModelID, SN: a.SN, PkgType: a.PkgType, ExpireTime: a.ExpireAt.Unix()}
		}
	case "get_voip_device_active_info":
		var a Activation
		a, err = s.prov.ActiveInfo(ctx, d, req.Params.MiniProgramAppID, req.Params.ModelID)
		if err == nil {
			rep.Params = activeParams{ModelID: a.ModelID, SN: a.SN, PkgType: a.PkgType, ExpireTime: a.ExpireAt.Unix()}
		}
	default:
		s.log.Debug("$twecall method ignored", "method", req.Method, "product_id", t.ProductID, "device_name", t.DeviceName)
		return
	}
	if err != nil {
		rep.Code, rep.Status = CodeError, statusOf(err)
		if rep.Status == "internal error" {
			s.log.Warn("twecall", "method", req.Method, "product_id", t.ProductID, "device_name", t.DeviceName, "err", err)
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return
	}
	topic := protocol.FamilyTopic(protocol.FamilyTWecall, protocol.Down, t.ProductID, t.DeviceName)
	if err := s.pub.Publish(ctx, t.ProductID, t.DeviceName, topic, b, 0); err != nil {
		s.log.Debug("twecall reply not delivered", "topic", topic, "err", err)
	}
}

func statusOf(err error) string {
	for _, e := range []error{ErrNoLicense, ErrNotActivated, ErrBadPkgType} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "internal error"
}

// maxTokenLen bounds the echoed clientToken.
const maxTokenLen = 256

func token(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || len(raw) > maxTokenLen {
		return json.RawMessage(`""`)
	}
	return raw
}
