package gateway

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// Operation types on $gateway/operation (PROTOCOL.md §8).
const (
	OpBind               = "bind"
	OpUnbind             = "unbind"
	OpOnline             = "online"
	OpOffline            = "offline"
	OpDescribeSubDevices = "describe_sub_devices"
	OpChange             = "change"
	OpSearchDevices      = "search_devices"
)

// MaxDevicesPerRequest bounds the devices of one request so that its reply,
// which lists them all, stays under 1 KB (the C SDK's buffer).
const MaxDevicesPerRequest = 8

// opRequest is a gateway's request on $gateway/operation/{pid}/{dn}.
type opRequest struct {
	Type    string `json:"type"`
	Payload struct {
		Devices []opDevice `json:"devices"`
	} `json:"payload"`
}

type opDevice struct {
	ProductID  string          `json:"product_id"`
	DeviceName string          `json:"device_name"`
	Signature  string          `json:"signature,omitempty"`
	Random     json.RawMessage `json:"random,omitempty"`
	Timestamp  json.RawMessage `json:"timestamp,omitempty"`
	SignMethod string          `json:"signmethod,omitempty"`
	AuthType   string          `json:"authtype,omitempty"`
}

// ReplyDevice is one device of a reply.
type ReplyDevice struct {
	ProductID  string `json:"product_id"`
	DeviceName string `json:"device_name"`
	Result     *int   `json:"result,omitempty"`
}

// Reply is the platform's answer on $gateway/operation/result/{pid}/{dn}.
type Reply struct {
	Type    string `json:"type"`
	Result  *int   `json:"result,omitempty"` // set only when the request as a whole is refused
	Payload struct {
		Devices []ReplyDevice `json:"devices"`
	} `json:"payload"`
}

// HandleOperation handles a gateway's request and publishes the reply on
// the gateway's result topic. Requests that are not JSON, and the
// gateway's answers to change and search_devices, get no reply.
func (s *Service) HandleOperation(ctx context.Context, gwPID, gwDN string, payload []byte) {
	reply, ok := s.Operate(ctx, gwPID, gwDN, payload)
	if !ok {
		return
	}
	b, err := json.Marshal(reply)
	if err != nil {
		s.log.Error("encode gateway reply", "err", err)
		return
	}
	topic := protocol.FamilyTopic(protocol.FamilyGateway, protocol.Down, gwPID, gwDN)
	if err := s.pub.Publish(ctx, gwPID, gwDN, topic, b, 0); err != nil {
		s.log.Debug("gateway reply not delivered", "product", gwPID, "device", gwDN, "err", err)
	}
}

// Operate executes a gateway's request and returns the reply; ok is false
// when no reply is due.
func (s *Service) Operate(ctx context.Context, gwPID, gwDN string, payload []byte) (Reply, bool) {
	var req opRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		s.log.Debug("gateway request ignored: bad json", "product", gwPID, "device", gwDN, "err", err)
		return Reply{}, false
	}
	gw := DeviceID{gwPID, gwDN}
	r := Reply{Type: req.Type}
	r.Payload.Devices = []ReplyDevice{}
	switch req.Type {
	case OpDescribeSubDevices:
		list, _, err := s.store.ListSubDevices(ctx, gwPID, gwDN, "", 0, 0)
		if err != nil {
			s.log.Error("describe sub-devices", "product", gwPID, "device", gwDN, "err", err)
			code := ResultSystemError
			r.Result = &code
			return r, true
		}
		for _, b := range list {
			r.Payload.Devices = append(r.Payload.Devices, ReplyDevice{ProductID: b.ProductID, DeviceName: b.DeviceName})
		}
		return r, true
	case OpBind, OpUnbind, OpOnline, OpOffline:
	case OpChange, OpSearchDevices:
		s.log.Debug("gateway answer", "product", gwPID, "device", gwDN, "type", req.Type)
		return Reply{}, false
	default:
		code := ResultBadParams
		r.Result = &code
		return r, true
	}
	if len(req.Payload.Devices) == 0 || len(req.Payload.Devices) > MaxDevicesPerRequest {
		code := ResultBadParams
		r.Result = &code
		return r, true
	}
	for _, d := range req.Payload.Devices {
		sub := DeviceID{d.ProductID, d.DeviceName}
		var code int
		switch req.Type {
		case OpBind:
			code = s.bindSigned(ctx, gw, d)
		case OpUnbind:
			code = s.checkNames(sub)
			if code == ResultOK {
				code = s.unbind(ctx, gw, sub)
			}
		case OpOnline:
			code = s.checkNames(sub)
			if code == ResultOK {
				code = s.boundTo(ctx, gw, sub)
			}
			if code == ResultOK {
				code = s.goOnline(ctx, gw, sub)
			}
		case OpOffline:
			code = s.checkNames(sub)
			if code == ResultOK {
				code = s.boundTo(ctx, gw, sub)
			}
			if code == ResultOK {
				s.goOffline(ctx, gw, sub)
			}
		}
		r.Payload.Devices = append(r.Payload.Devices, ReplyDevice{ProductID: d.ProductID, DeviceName: d.DeviceName, Result: &code})
	}
	return r, true
}

func (s *Service) checkNames(sub DeviceID) int {
	if !protocol.ValidProductID(sub.ProductID) || !protocol.ValidDeviceName(sub.DeviceName) {
		return ResultBadParams
	}
	return ResultOK
}

// bindSigned checks a signed bind request and binds.
func (s *Service) bindSigned(ctx context.Context, gw DeviceID, d opDevice) int {
	sub := DeviceID{d.ProductID, d.DeviceName}
	random, rok := jsonInt(d.Random)
	ts, tok := jsonInt(d.Timestamp)
	if s.checkNames(sub) != ResultOK || d.Signature == "" || !rok || !tok {
		return ResultBadParams
	}
	if newHash(d.SignMethod) == nil {
		return ResultBadSignMethod
	}
	authType := strings.ToLower(d.AuthType)
	if authType != "" && authType != AuthPSK && authType != AuthCert {
		return ResultBadParams
	}
	if diff := s.now().Sub(time.Unix(ts, 0)); diff > s.window || diff < -s.window {
		return ResultSignExpired
	}
	dev, code := s.checkBindable(ctx, gw, sub)
	if code != ResultOK {
		return code
	}
	var keys []string
	switch {
	case authType == AuthCert && dev.Device.CertPEM != "":
		keys = CertKeys(dev.Device.CertPEM)
	case authType != AuthCert && dev.PSK != "":
		keys = []string{dev.PSK}
	default:
		return ResultBadSignature // no key of that kind
	}
	if !verifySignature(keys, protocol.BindText(sub.ProductID, sub.DeviceName, random, ts), d.SignMethod, d.Signature) {
		return ResultBadSignature
	}
	return s.bind(ctx, gw, sub)
}

// jsonInt reads an integer sent as a JSON number or string.
func jsonInt(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, true
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		if err := json.Unmarshal([]byte(str), &n); err == nil {
			return n, true
		}
	}
	return 0, false
}
