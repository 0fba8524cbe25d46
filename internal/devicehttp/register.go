package devicehttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/thingo-iot/thingo/internal/dynreg"
	"github.com/thingo-iot/thingo/protocol"
)

// Registrar is the dynamic registration service (*dynreg.Service).
type Registrar interface {
	// Register applies the registration rules to req; refusals wrap the
	// errors of package dynreg.
	Register(ctx context.Context, req dynreg.Request) (dynreg.Reply, error)
	// MaxBody is the largest request body to accept.
	MaxBody() int64
}

// RegisterHandler serves the two dynamic registration APIs (PROTOCOL.md §4,
// §13.3) over a Registrar: the old API (POST /register/dev, signature in
// the body) and the new API (POST /device/register, X-TC-* headers).
//
// Every refusal is logged (slog, "dynamic registration refused") and
// answered with HTTP 200 in the API's own envelope: old API `code` (≠ 0) +
// `message`, new API Response.Error.Code + Message.
//
//	refusal                                    old code  new Code
//	malformed body, headers or names           1001      InvalidParameterValue
//	unknown product or bad signature           1002      AuthFailure.SignatureFailure
//	timestamp more than 5 minutes off          1003      AuthFailure.SignatureExpire
//	nonce already used                         1004      AuthFailure.InvalidNonce
//	rate limit (IP or product), cache full     1005      RequestLimitExceeded
//	dynamic registration off for the product   1010      UnauthorizedOperation.DynregDisabled
//	product registration limit reached         1011      LimitExceeded.DeviceRegisterLimit
//	pre-created mode, unknown device name      1012      ResourceNotFound.DeviceNotExist
//	device already active                      1021      FailedOperation.DeviceAlreadyActivated
//	anything else (store failure, ...)         1500      InternalError
//
// A request with a method other than POST gets HTTP 405 without envelope.
// The client IP given to the Registrar is the request's RemoteAddr host; a
// reverse proxy in front must rewrite RemoteAddr from a trusted header
// before this handler runs.
type RegisterHandler struct {
	reg Registrar
	log *slog.Logger
}

// NewRegisterHandler returns a RegisterHandler over reg, logging refusals
// to log (nil: discarded).
func NewRegisterHandler(reg Registrar, log *slog.Logger) *RegisterHandler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RegisterHandler{reg: reg, log: log}
}

// registerRefusal is the answer to one class of error in both APIs.
type registerRefusal struct {
	oldCode int
	newCode string
	message string
}

var internalRegisterRefusal = registerRefusal{1500, "InternalError", "internal error"}

// registerRefusals maps errors to their codes (see RegisterHandler). This
// package's ErrInvalidRequest comes from readBody.
var registerRefusals = []struct {
	err error
	registerRefusal
}{
	{dynreg.ErrInvalidRequest, registerRefusal{1001, "InvalidParameterValue", "invalid request"}},
	{ErrInvalidRequest, registerRefusal{1001, "InvalidParameterValue", "invalid request"}},
	{dynreg.ErrAuth, registerRefusal{1002, "AuthFailure.SignatureFailure", "signature verification failed"}},
	{dynreg.ErrTimestamp, registerRefusal{1003, "AuthFailure.SignatureExpire", "timestamp expired"}},
	{dynreg.ErrNonceReused, registerRefusal{1004, "AuthFailure.InvalidNonce", "nonce already used"}},
	{dynreg.ErrRateLimited, registerRefusal{1005, "RequestLimitExceeded", "too many requests"}},
	{dynreg.ErrDisabled, registerRefusal{1010, "UnauthorizedOperation.DynregDisabled", "dynamic registration is disabled for the product"}},
	{dynreg.ErrLimitReached, registerRefusal{1011, "LimitExceeded.DeviceRegisterLimit", "registration limit of the product reached"}},
	{dynreg.ErrUnknownDevice, registerRefusal{1012, "ResourceNotFound.DeviceNotExist", "device does not exist"}},
	{dynreg.ErrAlreadyActive, registerRefusal{1021, "FailedOperation.DeviceAlreadyActivated", "device has already been activated"}},
}

func registerRefusalOf(err error) registerRefusal {
	for _, r := range registerRefusals {
		if errors.Is(err, r.err) {
			return r.registerRefusal
		}
	}
	return internalRegisterRefusal
}

// Handler returns an http.Handler serving both APIs at their standard paths
// (protocol.PathRegisterOld and protocol.PathRegisterNew).
func (h *RegisterHandler) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(protocol.PathRegisterOld, h.RegisterOld)
	mux.HandleFunc(protocol.PathRegisterNew, h.RegisterNew)
	return mux
}

// RegisterOld serves the old API (mount at /register/dev). The Content-Type
// is ignored: the C SDK sends a JSON body as x-www-form-urlencoded.
func (h *RegisterHandler) RegisterOld(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	requestID := newRequestID()
	reply, err := h.registerOld(r)
	if err != nil {
		rf := h.refuse(r, requestID, protocol.PathRegisterOld, err)
		writeJSON(w, protocol.OldRegisterReply{Code: rf.oldCode, Message: rf.message, RequestID: requestID})
		return
	}
	writeJSON(w, protocol.OldRegisterReply{Code: 0, Message: "success", Len: reply.Len, Payload: reply.Payload, RequestID: requestID})
}

func (h *RegisterHandler) registerOld(r *http.Request) (dynreg.Reply, error) {
	body, err := readBody(r, h.reg.MaxBody())
	if err != nil {
		return dynreg.Reply{}, err
	}
	req, err := protocol.ParseOldRegisterRequest(body)
	if err != nil {
		return dynreg.Reply{}, fmt.Errorf("%w: %w", dynreg.ErrInvalidRequest, err)
	}
	return h.reg.Register(r.Context(), dynreg.Request{
		ProductID:  req.ProductID,
		DeviceName: req.DeviceName,
		Timestamp:  time.Unix(req.Timestamp, 0),
		Nonce:      strconv.FormatInt(req.Nonce, 10),
		ClientIP:   clientIP(r),
		Verify: func(secret string) error {
			return protocol.VerifyOldRegister(secret, req)
		},
	})
}

// RegisterNew serves the new API (mount at /device/register). The signed
// path is always /device/register, whatever the mount point; the signed host
// is the request's Host, with or without its port.
func (h *RegisterHandler) RegisterNew(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	requestID := newRequestID()
	reply, err := h.registerNew(r)
	if err != nil {
		rf := h.refuse(r, requestID, protocol.PathRegisterNew, err)
		writeJSON(w, protocol.NewRegisterReply{Response: protocol.NewRegisterResponse{
			Error:     &protocol.ReplyError{Code: rf.newCode, Message: rf.message},
			RequestID: requestID,
		}})
		return
	}
	writeJSON(w, protocol.NewRegisterReply{Response: protocol.NewRegisterResponse{
		Len: reply.Len, Payload: reply.Payload, RequestID: requestID,
	}})
}

func (h *RegisterHandler) registerNew(r *http.Request) (dynreg.Reply, error) {
	body, err := readBody(r, h.reg.MaxBody())
	if err != nil {
		return dynreg.Reply{}, err
	}
	req, err := protocol.ParseNewRegisterRequest(body)
	if err != nil {
		return dynreg.Reply{}, fmt.Errorf("%w: %w", dynreg.ErrInvalidRequest, err)
	}
	params, sig, err := protocol.HTTPSignParamsFromRequest(r, body)
	if err != nil {
		return dynreg.Reply{}, fmt.Errorf("%w: %w", dynreg.ErrInvalidRequest, err)
	}
	params.Method = http.MethodPost
	params.Path = protocol.PathRegisterNew
	ts, err := params.Time()
	if err != nil {
		return dynreg.Reply{}, fmt.Errorf("%w: %w", dynreg.ErrInvalidRequest, err)
	}
	return h.reg.Register(r.Context(), dynreg.Request{
		ProductID:  req.ProductID,
		DeviceName: req.DeviceName,
		Timestamp:  ts,
		Nonce:      params.Nonce,
		ClientIP:   clientIP(r),
		Verify: func(secret string) error {
			return protocol.VerifyHTTP(secret, params, sig)
		},
	})
}

// refuse logs a refusal and returns its codes.
func (h *RegisterHandler) refuse(r *http.Request, requestID, api string, err error) registerRefusal {
	rf := registerRefusalOf(err)
	level := slog.LevelWarn
	if rf == internalRegisterRefusal {
		level = slog.LevelError
	}
	h.log.LogAttrs(r.Context(), level, "dynamic registration refused",
		slog.String("api", api),
		slog.String("request_id", requestID),
		slog.String("client_ip", clientIP(r)),
		slog.String("code", rf.newCode),
		slog.String("reason", err.Error()))
	return rf
}

// clientIP is the host of the request's RemoteAddr.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
