package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// ErrLogRejected is returned when the platform answers a log upload with a
// Retcode other than 0.
var ErrLogRejected = errors.New("sdk: log upload rejected")

// UploadLogs posts lines to `{baseURL}/cgi-bin/report-log` (PROTOCOL.md
// §13.9), signed with the device's secret (key devices) or certificate
// (certificate devices), in as many uploads as the 3000-byte body limit
// needs. It needs no MQTT connection. baseURL is the device HTTP endpoint,
// e.g. "http://host:8080".
func (c *Client) UploadLogs(ctx context.Context, baseURL string, lines []protocol.LogLine) error {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%w: base URL %q", ErrInvalidConfig, baseURL)
	}
	endpoint := strings.TrimSuffix(u.String(), "/") + protocol.PathReportLog
	key, auth, err := c.logSignKey()
	if err != nil {
		return err
	}
	up := protocol.LogUpload{Auth: auth, ProductID: c.cfg.ProductID, DeviceName: c.cfg.DeviceName}
	for len(lines) > 0 {
		up.Time = time.Now().Unix()
		n := 0
		size := protocol.LogHeaderLen
		for n < len(lines) {
			l := len(lines[n].String()) + len(protocol.LogDelimiter)
			if n > 0 && size+l > protocol.DefaultMaxLogBody {
				break
			}
			size += l
			n++
		}
		if size > protocol.DefaultMaxLogBody {
			return fmt.Errorf("sdk: upload logs: %w: line of %d bytes does not fit an upload", protocol.ErrLogTooLarge, size-protocol.LogHeaderLen)
		}
		up.Lines = lines[:n]
		body, err := protocol.BuildLogUpload(key, up)
		if err != nil {
			return fmt.Errorf("sdk: upload logs: %w", err)
		}
		if err := c.postLog(ctx, endpoint, body); err != nil {
			return err
		}
		lines = lines[n:]
	}
	return nil
}

func (c *Client) postLog(ctx context.Context, endpoint string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sdk: upload logs: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain;charset=utf-8")
	raw, err := doHTTP(httpClient(c.cfg.HTTPClient), req)
	if err != nil {
		return fmt.Errorf("sdk: upload logs: %w", err)
	}
	var rep struct {
		Retcode int
		Message string
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("sdk: upload logs: reply %.200q: %w", raw, err)
	}
	if rep.Retcode != 0 {
		return fmt.Errorf("%w: Retcode %d: %s", ErrLogRejected, rep.Retcode, rep.Message)
	}
	return nil
}

// logSignKey returns the log sign key and auth kind of the device.
func (c *Client) logSignKey() (string, byte, error) {
	if c.cfg.DeviceSecret != "" {
		return protocol.LogSignKey(c.cfg.DeviceSecret), protocol.LogAuthKey, nil
	}
	var certPEM string
	switch {
	case c.cfg.Certificate != nil && len(c.cfg.Certificate.Certificate) > 0:
		certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cfg.Certificate.Certificate[0]}))
	case c.cfg.CertFile != "":
		b, err := os.ReadFile(c.cfg.CertFile)
		if err != nil {
			return "", 0, fmt.Errorf("sdk: upload logs: %w", err)
		}
		certPEM = string(b)
	}
	key := protocol.LogSignKeyFromCert(certPEM)
	if key == "" {
		return "", 0, fmt.Errorf("%w: no device certificate to sign logs with", ErrInvalidConfig)
	}
	return key, protocol.LogAuthCert, nil
}
