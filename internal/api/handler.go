// Package api serves the Tencent Cloud API 3.0 `iotexplorer` endpoint
// (version 2019-04-23) so the official SDKs and tools work against Thingo by
// changing only their endpoint. Requests are POST with a JSON body or GET
// with flattened query parameters, signed with TC3-HMAC-SHA256; every answer
// is HTTP 200 with a {"Response":{...,"RequestId":...}} envelope.
package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/api/tc3"
	"github.com/thingo-iot/thingo/internal/registry"
)

// Version is the only API version served.
const Version = "2019-04-23"

// DefaultMaxBodyBytes is the default request body limit.
const DefaultMaxBodyBytes = 1 << 20

// KeyStore returns the SecretKey of an API SecretId.
type KeyStore interface {
	SecretKey(secretID string) (string, bool)
}

// Sessions reaches connected devices. Publish must return an error wrapping
// ErrDeviceOffline when the device has no connection.
type Sessions interface {
	Disconnect(ctx context.Context, productID, deviceName string) error
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Config configures a Handler.
type Config struct {
	Registry *registry.Service // required
	Keys     KeyStore          // required
	// Sessions reaches devices; nil means no broker: nothing to disconnect,
	// and PublishMessage reports every device offline.
	Sessions Sessions
	// Things serves thing models and device data; nil disables those
	// actions (they answer FailedOperation).
	Things ThingData
	// Protocols serves RRPC, broadcast, remote configuration and the
	// TWecall license pools; nil members disable their actions.
	Protocols    Protocols
	Logger       *slog.Logger     // nil: discard
	Now          func() time.Time // nil: time.Now
	MaxBodyBytes int64            // 0: DefaultMaxBodyBytes

	// DeviceLogs serves DescribeDeviceLogs; nil disables it.
	DeviceLogs DeviceLogs

	// OTA serves the firmware actions; nil disables them.
	OTA Firmware

	// Gateways serves the gateway actions; nil disables them.
	Gateways Gateways
}

// Handler is the API's http.Handler.
type Handler struct {
	reg       *registry.Service
	keys      KeyStore
	sessions  Sessions
	things    ThingData
	protocols Protocols
	logs      DeviceLogs
	ota       Firmware
	gateways  Gateways
	log       *slog.Logger
	now       func() time.Time
	maxBody   int64
	actions   map[string]action
}

// NewHandler returns the API handler.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Registry == nil || cfg.Keys == nil {
		return nil, errors.New("api: Registry and Keys are required")
	}
	h := &Handler{
		reg: cfg.Registry, keys: cfg.Keys, sessions: cfg.Sessions, things: cfg.Things, protocols: cfg.Protocols, logs: cfg.DeviceLogs, log: cfg.Logger,
		now: cfg.Now, maxBody: cfg.MaxBodyBytes,
	}
	h.ota = cfg.OTA
	h.gateways = cfg.Gateways
	if h.sessions == nil {
		h.sessions = noBroker{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	h.actions = h.routes()
	return h, nil
}

// action is one API action: its request type (for GET decoding) and a
// function that decodes, validates and runs it.
type action struct {
	reqType reflect.Type
	run     func(ctx context.Context, params []byte) (any, error)
}

// handle adapts a typed action function.
func handle[Req, Resp any](fn func(context.Context, *Req) (*Resp, error)) action {
	return action{
		reqType: reflect.TypeFor[Req](),
		run: func(ctx context.Context, params []byte) (any, error) {
			var req Req
			if err := decodeJSON(params, &req); err != nil {
				return nil, err
			}
			if err := checkRequired(reflect.ValueOf(&req), ""); err != nil {
				return nil, err
			}
			return fn(ctx, &req)
		},
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	reqID := newUUID()
	actionName := r.Header.Get("X-TC-Action")
	resp, err := h.serve(r, actionName)
	if err != nil {
		e, known := toAPIError(err)
		if !known {
			h.log.Error("api action failed", "action", actionName, "request_id", reqID, "err", err)
		} else {
			h.log.Debug("api action refused", "action", actionName, "request_id", reqID, "code", e.Code, "err", err)
		}
		writeEnvelope(w, map[string]any{"Error": e, "RequestId": reqID})
		return
	}
	h.log.Debug("api action", "action", actionName, "request_id", reqID, "duration", h.now().Sub(start))
	writeEnvelope(w, withRequestID(resp, reqID))
}

func (h *Handler) serve(r *http.Request, actionName string) (any, error) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, newError(codeInvalidRequest, "method "+r.Method+" not allowed; use POST or GET")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, h.maxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, newError(codeRequestSizeLimit, fmt.Sprintf("request body larger than %d bytes", h.maxBody))
		}
		return nil, newError(codeInvalidRequest, "reading request body: "+err.Error())
	}
	if _, err := tc3.Verify(r, body, h.keys.SecretKey, h.now()); err != nil {
		return nil, err
	}
	switch v := r.Header.Get("X-TC-Version"); v {
	case Version:
	case "":
		return nil, newError(codeMissingParameter, "missing X-TC-Version")
	default:
		return nil, newError(codeNoSuchVersion, fmt.Sprintf("version %q is not supported; use %s", v, Version))
	}
	if actionName == "" {
		return nil, newError(codeMissingParameter, "missing X-TC-Action")
	}
	act, ok := h.actions[actionName]
	if !ok {
		return nil, newError(codeInvalidAction, fmt.Sprintf("action %q does not exist", actionName))
	}
	params := body
	if r.Method == http.MethodGet {
		if params, err = queryToJSON(r.URL.RawQuery, act.reqType); err != nil {
			return nil, err
		}
	} else if ct := r.Header.Get("Content-Type"); len(body) > 0 && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, newError(codeInvalidRequest, "POST body must be application/json")
	}
	return act.run(r.Context(), params)
}

func withRequestID(resp any, reqID string) any {
	b, err := json.Marshal(resp)
	if err != nil || len(b) < 2 || b[0] != '{' {
		return map[string]any{"RequestId": reqID}
	}
	id, _ := json.Marshal(reqID)
	if string(b) == "{}" {
		return json.RawMessage(`{"RequestId":` + string(id) + `}`)
	}
	return json.RawMessage(string(b[:len(b)-1]) + `,"RequestId":` + string(id) + `}`)
}

func writeEnvelope(w http.ResponseWriter, inner any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"Response": inner})
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// noBroker is the Sessions of a server without a broker.
type noBroker struct{}

func (noBroker) Disconnect(context.Context, string, string) error { return nil }
func (noBroker) Publish(context.Context, string, string, string, []byte, byte) error {
	return ErrDeviceOffline
}

// StaticKeys is a KeyStore over a fixed map of SecretId to SecretKey.
type StaticKeys map[string]string

// SecretKey implements KeyStore.
func (k StaticKeys) SecretKey(secretID string) (string, bool) {
	key, ok := k[secretID]
	return key, ok
}

// Invoke runs one action in-process, as an already authenticated caller
// (the web console): params is the action's JSON request, the answer is the
// action's JSON response without the RequestId. A failure is always an
// *Error carrying the same Tencent code and message the HTTP API answers.
func (h *Handler) Invoke(ctx context.Context, actionName string, params []byte) (json.RawMessage, error) {
	act, ok := h.actions[actionName]
	if !ok {
		return nil, newError(codeInvalidAction, fmt.Sprintf("action %q does not exist", actionName))
	}
	if len(params) == 0 {
		params = []byte("{}")
	}
	resp, err := act.run(ctx, params)
	if err != nil {
		e, known := toAPIError(err)
		if !known {
			h.log.Error("api action failed", "action", actionName, "caller", "invoke", "err", err)
		}
		return nil, e
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, newError(codeInternalError, "encoding the response: "+err.Error())
	}
	return b, nil
}
