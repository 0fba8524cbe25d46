package devicehttp

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

type logReply struct {
	Retcode int    `json:"Retcode"`
	Message string `json:"Message,omitempty"`
}

// ReportLog serves POST /cgi-bin/report-log.
func (s *Server) ReportLog(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	n, err := s.reportLog(r)
	if err != nil {
		msg := "internal error"
		if errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrAuth) || errors.Is(err, ErrDisabled) {
			msg = err.Error()
		}
		s.log.Warn("log upload refused", "remote", r.RemoteAddr, "reason", err.Error())
		writeJSON(w, logReply{Retcode: -1, Message: msg})
		return
	}
	s.log.Debug("log upload stored", "remote", r.RemoteAddr, "lines", n)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write([]byte(protocol.LogUploadReply))
}

func (s *Server) reportLog(r *http.Request) (int, error) {
	if s.cfg.Devices == nil || s.cfg.Logs == nil {
		return 0, errors.New("log upload is not configured")
	}
	body, err := readBody(r, protocol.DefaultMaxLogBody)
	if err != nil {
		return 0, err
	}
	up, err := protocol.ParseLogUpload(body, protocol.DefaultMaxLogBody)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	det, err := s.cfg.Devices.GetDevice(r.Context(), up.ProductID, up.DeviceName)
	if isNotFound(err) {
		return 0, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	if err != nil {
		return 0, fmt.Errorf("device: %w", err)
	}
	var key string
	switch {
	case up.Auth == protocol.LogAuthKey && det.Product.EncryptionType == registry.EncryptionKey:
		key = protocol.LogSignKey(det.PSK)
	case up.Auth == protocol.LogAuthCert && det.Product.EncryptionType == registry.EncryptionCert:
		key = protocol.LogSignKeyFromCert(det.Device.CertPEM)
	}
	if key == "" {
		return 0, fmt.Errorf("%w: auth kind %q does not match the device", ErrAuth, up.Auth)
	}
	if err := protocol.VerifyLogUpload(key, body); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	if det.Device.EnableState != registry.Enabled {
		return 0, ErrDisabled
	}
	if err := s.cfg.Logs.Append(r.Context(), up.ProductID, up.DeviceName, up.Lines); err != nil {
		return 0, err
	}
	return len(up.Lines), nil
}
