package devicehttp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// publishRefusals maps errors to the new API's error codes.
var publishRefusals = []struct {
	err  error
	code string
}{
	{ErrInvalidRequest, "InvalidParameterValue"},
	{ErrAuth, "AuthFailure.SignatureFailure"},
	{ErrTimestamp, "AuthFailure.SignatureExpire"},
	{ErrNonceReused, "AuthFailure.InvalidNonce"},
	{ErrDisabled, "UnauthorizedOperation.DeviceDisabled"},
	{ErrCertDevice, "UnsupportedOperation.CertificateDevice"},
	{ErrTopicDenied, "UnauthorizedOperation.TopicNotAllowed"},
}

func publishCode(err error) string {
	for _, r := range publishRefusals {
		if errors.Is(err, r.err) {
			return r.code
		}
	}
	return "InternalError"
}

// Publish serves POST /device/publish.
func (s *Server) Publish(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	requestID := newRequestID()
	if err := s.publish(r); err != nil {
		code := publishCode(err)
		level := slog.LevelWarn
		if code == "InternalError" {
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "http publish refused", slog.String("request_id", requestID),
			slog.String("remote", r.RemoteAddr), slog.String("code", code), slog.String("reason", err.Error()))
		msg := err.Error()
		if code == "InternalError" {
			msg = "internal error"
		}
		writeJSON(w, protocol.NewRegisterReply{Response: protocol.NewRegisterResponse{
			Error: &protocol.ReplyError{Code: code, Message: msg}, RequestID: requestID,
		}})
		return
	}
	writeJSON(w, protocol.NewRegisterReply{Response: protocol.NewRegisterResponse{RequestID: requestID}})
}

func (s *Server) publish(r *http.Request) error {
	if s.cfg.Devices == nil || s.cfg.Uplinks == nil {
		return errors.New("http publish is not configured")
	}
	body, err := readBody(r, s.cfg.MaxBody)
	if err != nil {
		return err
	}
	req, err := protocol.ParsePublishRequest(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	params, sig, err := protocol.HTTPSignParamsFromRequest(r, body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	params.Method, params.Path = http.MethodPost, protocol.PathDevicePublish
	ts, err := params.Time()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	now := s.cfg.Now()
	if d := now.Sub(ts); d > s.cfg.Window || d < -s.cfg.Window {
		return fmt.Errorf("%w: off by %s", ErrTimestamp, d.Round(time.Second))
	}
	if !protocol.ValidProductID(req.ProductID) || !protocol.ValidDeviceName(req.DeviceName) {
		return fmt.Errorf("%w: bad product id or device name", ErrAuth)
	}
	cred, err := s.cfg.Devices.DeviceAuth(r.Context(), req.ProductID, req.DeviceName)
	if isNotFound(err) {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	if err != nil {
		return fmt.Errorf("device credentials: %w", err)
	}
	if cred.EncryptionType == registry.EncryptionCert || cred.PSK == "" {
		return ErrCertDevice
	}
	if err := protocol.VerifyHTTP(cred.PSK, params, sig); err != nil {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	fresh, err := s.nonces.add(req.ProductID+"\x00"+req.DeviceName+"\x00"+params.Nonce, now)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNonceReused, err)
	}
	if !fresh {
		return fmt.Errorf("%w: %s", ErrNonceReused, params.Nonce)
	}
	if !cred.Enabled {
		return ErrDisabled
	}
	acl := devauth.NewACL(req.ProductID, req.DeviceName, cred.ProductType == registry.ProductTypeGateway, cred.Topics)
	if !acl.CanPublish(req.TopicName) {
		return fmt.Errorf("%w: %s", ErrTopicDenied, req.TopicName)
	}
	s.cfg.Uplinks.HandleUplink(r.Context(), devauth.Identity{
		ProductID: req.ProductID, DeviceName: req.DeviceName, ClientID: req.ProductID + req.DeviceName,
		Method: "http", Gateway: cred.ProductType == registry.ProductTypeGateway, ACL: acl,
	}, req.TopicName, []byte(req.Payload))
	return nil
}
