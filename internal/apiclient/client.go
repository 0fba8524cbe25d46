// Package apiclient calls Thingo's management API (the Tencent Cloud API 3.0
// dialect of iotexplorer) with TC3-HMAC-SHA256 signing. The CLI and the
// end-to-end tests use it; applications use Tencent's official SDKs.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/thingo-iot/thingo/internal/api/tc3"
)

// Version is the iotexplorer API version Thingo speaks.
const Version = "2019-04-23"

// Client calls one Thingo API endpoint.
type Client struct {
	URL       string // e.g. http://127.0.0.1:8080
	SecretID  string
	SecretKey string
	HTTP      *http.Client // nil: a client with a 30 s timeout
}

// Error is an error answered by the API.
type Error struct {
	Code      string
	Message   string
	RequestID string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Call invokes action with req marshalled to JSON and decodes the Response
// object into resp (which may be nil). API errors are returned as *Error.
func (c *Client) Call(ctx context.Context, action string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", action, err)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("api url: %w", err)
	}
	ts := time.Now().Unix()
	auth := tc3.Sign(c.SecretID, c.SecretKey, tc3.Request{
		Method: http.MethodPost, Host: u.Host, Path: "/", ContentType: "application/json",
		Payload: body, Timestamp: ts, Service: "iotexplorer",
	})
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u.Scheme+"://"+u.Host+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", auth)
	hr.Header.Set("X-TC-Action", action)
	hr.Header.Set("X-TC-Version", Version)
	hr.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	hr.Header.Set("X-TC-RequestClient", "thingo-cli")
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	res, err := hc.Do(hr)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s: read response: %w", action, err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %s", action, res.Status)
	}
	var env struct {
		Response json.RawMessage
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Response == nil {
		return fmt.Errorf("%s: response is not an API envelope: %.200s", action, raw)
	}
	var head struct {
		Error     *struct{ Code, Message string }
		RequestID string `json:"RequestId"`
	}
	if err := json.Unmarshal(env.Response, &head); err != nil {
		return fmt.Errorf("%s: decode response: %w", action, err)
	}
	if head.Error != nil {
		return &Error{Code: head.Error.Code, Message: head.Error.Message, RequestID: head.RequestID}
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(env.Response, resp); err != nil {
		return fmt.Errorf("%s: decode response: %w", action, err)
	}
	return nil
}
