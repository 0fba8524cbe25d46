package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

// RegisterOld registers a device through the old dynamic registration API
// (PROTOCOL.md §13.3: POST /register/dev), the default of Tencent's C and
// Java SDKs: a JSON body sent as x-www-form-urlencoded, signed with
// base64(hex(HMAC-SHA1)) of the product secret. cfg.SignMethod must be
// empty or "hmacsha1", the only method of this API. The reply's payload is
// decrypted as with Register, and the result saves the same way
// (Registration.Save). Refusals are *RegisterError whose Code is the old
// API's decimal code, e.g. "1002" for a bad signature or "1021" for a
// device already activated.
func RegisterOld(ctx context.Context, cfg RegisterConfig) (Registration, error) {
	u, err := cfg.baseURL()
	if err != nil {
		return Registration{}, err
	}
	if cfg.SignMethod != "" && !strings.EqualFold(cfg.SignMethod, protocol.MethodHMACSHA1) {
		return Registration{}, fmt.Errorf("%w: sign method %q (the old registration API signs with hmacsha1)", ErrInvalidConfig, cfg.SignMethod)
	}
	req := protocol.OldRegisterRequest{
		DeviceName: cfg.DeviceName,
		Nonce:      nonce(),
		ProductID:  cfg.ProductID,
		Timestamp:  time.Now().Unix(),
	}
	req.Signature = protocol.SignOldRegister(cfg.ProductSecret, req)
	body, err := json.Marshal(req)
	if err != nil {
		return Registration{}, fmt.Errorf("sdk: register: %w", err)
	}
	endpoint := strings.TrimSuffix(u.String(), "/") + protocol.PathRegisterOld
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return Registration{}, fmt.Errorf("sdk: register: %w", err)
	}
	// The C SDK's header: the body is JSON all the same.
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "text/xml,application/json;*/*")
	raw, err := doHTTP(httpClient(cfg.HTTPClient), hreq)
	if err != nil {
		return Registration{}, fmt.Errorf("sdk: register: %w", err)
	}
	return cfg.openOldReply(raw)
}

// openOldReply decodes a reply of the old API.
func (cfg RegisterConfig) openOldReply(raw []byte) (Registration, error) {
	var rep protocol.OldRegisterReply
	if err := json.Unmarshal(raw, &rep); err != nil {
		return Registration{}, fmt.Errorf("sdk: register: reply %.200q: %w", raw, err)
	}
	if rep.Code != 0 {
		return Registration{}, &RegisterError{Code: strconv.Itoa(rep.Code), Message: rep.Message}
	}
	if rep.Payload == "" {
		return Registration{}, fmt.Errorf("sdk: register: %w: reply without payload", protocol.ErrMalformedPayload)
	}
	return cfg.open(rep.Payload)
}
