package dynreg

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// refusal is the answer to one class of error in both APIs.
type refusal struct {
	oldCode int
	newCode string
	message string
}

var internalRefusal = refusal{1500, "InternalError", "internal error"}

// refusals maps this package's errors to their codes (see the package doc).
var refusals = []struct {
	err error
	refusal
}{
	{ErrInvalidRequest, refusal{1001, "InvalidParameterValue", "invalid request"}},
	{ErrAuth, refusal{1002, "AuthFailure.SignatureFailure", "signature verification failed"}},
	{ErrTimestamp, refusal{1003, "AuthFailure.SignatureExpire", "timestamp expired"}},
	{ErrNonceReused, refusal{1004, "AuthFailure.InvalidNonce", "nonce already used"}},
	{ErrRateLimited, refusal{1005, "RequestLimitExceeded", "too many requests"}},
	{ErrDisabled, refusal{1010, "UnauthorizedOperation.DynregDisabled", "dynamic registration is disabled for the product"}},
	{ErrLimitReached, refusal{1011, "LimitExceeded.DeviceRegisterLimit", "registration limit of the product reached"}},
	{ErrUnknownDevice, refusal{1012, "ResourceNotFound.DeviceNotExist", "device does not exist"}},
	{ErrAlreadyActive, refusal{1021, "FailedOperation.DeviceAlreadyActivated", "device has already been activated"}},
}

func refusalOf(err error) refusal {
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			return r.refusal
		}
	}
	return internalRefusal
}

// Handler returns an http.Handler serving both APIs at their standard paths
// (protocol.PathRegisterOld and protocol.PathRegisterNew).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(protocol.PathRegisterOld, s.RegisterOld)
	mux.HandleFunc(protocol.PathRegisterNew, s.RegisterNew)
	return mux
}

// RegisterOld serves the old API (mount at /register/dev). The Content-Type
// is ignored: the C SDK sends a JSON body as x-www-form-urlencoded.
func (s *Service) RegisterOld(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	requestID := newRequestID()
	reply, err := s.registerOld(r)
	if err != nil {
		rf := s.refuse(r, requestID, protocol.PathRegisterOld, err)
		writeJSON(w, protocol.OldRegisterReply{Code: rf.oldCode, Message: rf.message, RequestID: requestID})
		return
	}
	writeJSON(w, protocol.OldRegisterReply{Code: 0, Message: "success", Len: reply.Len, Payload: reply.Payload, RequestID: requestID})
}

func (s *Service) registerOld(r *http.Request) (Reply, error) {
	body, err := s.readBody(r)
	if err != nil {
		return Reply{}, err
	}
	req, err := protocol.ParseOldRegisterRequest(body)
	if err != nil {
		return Reply{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return s.Register(r.Context(), Request{
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
func (s *Service) RegisterNew(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	requestID := newRequestID()
	reply, err := s.registerNew(r)
	if err != nil {
		rf := s.refuse(r, requestID, protocol.PathRegisterNew, err)
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

func (s *Service) registerNew(r *http.Request) (Reply, error) {
	body, err := s.readBody(r)
	if err != nil {
		return Reply{}, err
	}
	req, err := protocol.ParseNewRegisterRequest(body)
	if err != nil {
		return Reply{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	params, sig, err := protocol.HTTPSignParamsFromRequest(r, body)
	if err != nil {
		return Reply{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	params.Method = http.MethodPost
	params.Path = protocol.PathRegisterNew
	ts, err := params.Time()
	if err != nil {
		return Reply{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return s.Register(r.Context(), Request{
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

func (s *Service) readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %w", ErrInvalidRequest, err)
	}
	if int64(len(body)) > s.cfg.MaxBody {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrInvalidRequest, s.cfg.MaxBody)
	}
	return body, nil
}

// refuse logs a refusal and returns its codes.
func (s *Service) refuse(r *http.Request, requestID, api string, err error) refusal {
	rf := refusalOf(err)
	level := slog.LevelWarn
	if rf == internalRefusal {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "dynamic registration refused",
		slog.String("api", api),
		slog.String("request_id", requestID),
		slog.String("client_ip", clientIP(r)),
		slog.String("code", rf.newCode),
		slog.String("reason", err.Error()))
	return rf
}

func allowPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func newRequestID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
