package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/protocol"
)

// Result codes of gateway operations (PROTOCOL.md §8).
const (
	GatewayResultOK              = 0
	GatewayResultNotBound        = -1  // gateway not bound to this sub-device
	GatewayResultSystemError     = -2  // online/offline failed
	GatewayResultBadParams       = 801 // bad parameters
	GatewayResultBadDevice       = 802 // bad or unknown device name
	GatewayResultBadSignature    = 803 // signature check failed
	GatewayResultBadSignMethod   = 804 // sign method not supported
	GatewayResultSignExpired     = 805 // signature expired
	GatewayResultBoundElsewhere  = 806 // already bound to another gateway
	GatewayResultNotNormal       = 807 // not a normal device
	GatewayResultNotAllowed      = 808 // operation not allowed
	GatewayResultDuplicateBind   = 809 // already bound to this gateway
	GatewayResultProductNotBound = 810 // sub-device product not associated with the gateway product
)

// Gateway operation types (PROTOCOL.md §8).
const (
	gwBind     = "bind"
	gwUnbind   = "unbind"
	gwOnline   = "online"
	gwOffline  = "offline"
	gwDescribe = "describe_sub_devices"
	gwChange   = "change"
	gwSearch   = "search_devices"
)

// MaxSubDevicesPerRequest is the number of sub-devices the SDK puts in one
// gateway request; longer lists are split (the platform refuses more, so
// that its reply fits the C SDK's 1 KB buffer).
const MaxSubDevicesPerRequest = 8

// GatewayResultError is a sub-device the platform refused in a gateway
// operation, with the result code.
type GatewayResultError struct {
	Op        string // bind, unbind, online, offline or describe_sub_devices
	SubDevice SubDevice
	Code      int
}

func (e *GatewayResultError) Error() string {
	if e.SubDevice.ProductID == "" {
		return fmt.Sprintf("sdk: gateway %s refused: result %d", e.Op, e.Code)
	}
	return fmt.Sprintf("sdk: gateway %s %s/%s refused: result %d", e.Op, e.SubDevice.ProductID, e.SubDevice.DeviceName, e.Code)
}

// SubDeviceCredentials is a sub-device to bind with the secret that signs
// its bind request: the device secret (key devices) or the certificate
// file content (certificate devices).
type SubDeviceCredentials struct {
	ProductID, DeviceName string
	// DeviceSecret is the sub-device's key, the string as issued.
	DeviceSecret string
	// CertPEM is the sub-device's certificate file content, instead of
	// DeviceSecret.
	CertPEM []byte
}

// GatewayChange is a change push: the platform bound (Bound) or unbound
// sub-devices of the gateway elsewhere, e.g. through the API. Unbound
// sub-devices are offline already.
type GatewayChange struct {
	Bound   bool
	Devices []SubDevice
}

// ChangeHandler handles a change push; the gateway answers it with result 0.
type ChangeHandler func(ctx context.Context, ch GatewayChange)

// SearchHandler handles a search_devices push (an app starts or stops
// sub-device discovery) and returns the result code of the answer.
type SearchHandler func(ctx context.Context, start bool) (result int)

// Gateway runs the gateway operations of a gateway device's Client
// (PROTOCOL.md §8, §13.7) and multiplexes its sub-devices over the
// client's connection. Get it with Client.Gateway. It is safe for
// concurrent use; operations are sent one at a time, as their replies
// carry no token.
//
// Online sub-devices are brought online again after every reconnection
// (the platform takes them offline when the gateway's connection drops),
// and their subscriptions are renewed.
type Gateway struct {
	c      *Client
	result string // $gateway/operation/result/{pid}/{dn}
	subTok mqtt.Token

	opMu sync.Mutex // one operation in flight

	mu       sync.Mutex
	subs     map[SubDevice]*SubDeviceClient
	waitType string
	replies  chan gwReply
	onChange ChangeHandler
	onSearch SearchHandler
}

// Gateway returns the client's gateway, creating it on the first call. Call
// it before Connect so that change pushes are received from the first
// connection on.
func (c *Client) Gateway() *Gateway {
	c.gwOnce.Do(func() {
		g := &Gateway{
			c:      c,
			result: protocol.FamilyTopic(protocol.FamilyGateway, protocol.Down, c.cfg.ProductID, c.cfg.DeviceName),
			subs:   map[SubDevice]*SubDeviceClient{},
		}
		c.mu.Lock()
		c.subs[g.result] = subscription{qos: 1, handler: g.onResult}
		if c.pc != nil {
			c.pc.AddRoute(g.result, c.route(g.onResult))
			g.subTok = c.pc.Subscribe(g.result, 1, nil)
		}
		c.mu.Unlock()
		c.onConnected(g.reonline)
		c.gateway = g
	})
	return c.gateway
}

// OnChange sets the handler of change pushes.
func (g *Gateway) OnChange(h ChangeHandler) {
	g.mu.Lock()
	g.onChange = h
	g.mu.Unlock()
}

// OnSearchDevices sets the handler of search_devices pushes; without one
// they are answered with result 0.
func (g *Gateway) OnSearchDevices(h SearchHandler) {
	g.mu.Lock()
	g.onSearch = h
	g.mu.Unlock()
}

// gwDevice is a device of a request or a reply.
type gwDevice struct {
	ProductID  string `json:"product_id"`
	DeviceName string `json:"device_name"`
	Signature  string `json:"signature,omitempty"`
	Random     int64  `json:"random,omitempty"`
	Timestamp  int64  `json:"timestamp,omitempty"`
	SignMethod string `json:"signmethod,omitempty"`
	AuthType   string `json:"authtype,omitempty"`
	Result     *int   `json:"result,omitempty"`
}

// gwReply is a message on the result topic.
type gwReply struct {
	Type    string `json:"type"`
	Result  *int   `json:"result,omitempty"`
	Payload struct {
		Status  *int       `json:"status,omitempty"`
		Devices []gwDevice `json:"devices"`
	} `json:"payload"`
}

// parseGatewayMessage decodes a message of the result topic.
func parseGatewayMessage(b []byte) (gwReply, error) {
	var r gwReply
	if err := json.Unmarshal(b, &r); err != nil {
		return gwReply{}, fmt.Errorf("sdk: bad gateway message: %w", err)
	}
	if r.Type == "" {
		return gwReply{}, errors.New("sdk: gateway message without type")
	}
	return r, nil
}

// onResult handles the result topic: replies go to the waiting operation,
// change and search_devices pushes to their handlers.
func (g *Gateway) onResult(ctx context.Context, m Message) {
	r, err := parseGatewayMessage(m.Payload)
	if err != nil {
		g.c.log.Warn("dropping gateway message", "err", err)
		return
	}
	switch r.Type {
	case gwChange:
		g.handleChange(ctx, r)
		return
	case gwSearch:
		g.handleSearch(ctx, r)
		return
	}
	g.mu.Lock()
	ch := g.replies
	if r.Type != g.waitType {
		ch = nil
	}
	g.mu.Unlock()
	if ch == nil {
		g.c.log.Debug("gateway reply without waiter", "type", r.Type)
		return
	}
	select {
	case ch <- r:
	default:
		g.c.log.Debug("gateway reply dropped", "type", r.Type)
	}
}

func (g *Gateway) handleChange(ctx context.Context, r gwReply) {
	ch := GatewayChange{Bound: r.Payload.Status != nil && *r.Payload.Status == 1}
	for _, d := range r.Payload.Devices {
		ch.Devices = append(ch.Devices, SubDevice{ProductID: d.ProductID, DeviceName: d.DeviceName})
	}
	if !ch.Bound {
		for _, d := range ch.Devices {
			g.wentOffline(ctx, d)
		}
	}
	g.mu.Lock()
	h := g.onChange
	g.mu.Unlock()
	if h != nil {
		h(ctx, ch)
	}
	g.send(ctx, map[string]any{"type": gwChange, "result": 0})
}

func (g *Gateway) handleSearch(ctx context.Context, r gwReply) {
	status := 0
	if r.Payload.Status != nil {
		status = *r.Payload.Status
	}
	g.mu.Lock()
	h := g.onSearch
	g.mu.Unlock()
	result := 0
	if h != nil {
		result = h(ctx, status == 1)
	}
	g.send(ctx, map[string]any{"type": gwSearch, "payload": map[string]any{"status": status, "result": result}})
}

// send publishes msg on the operation topic at QoS 0, as the SDKs do.
func (g *Gateway) send(ctx context.Context, msg map[string]any) {
	if err := g.publish(ctx, msg); err != nil {
		g.c.log.Warn("gateway answer not sent", "type", msg["type"], "err", err)
	}
}

func (g *Gateway) publish(ctx context.Context, msg map[string]any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	topic := protocol.FamilyTopic(protocol.FamilyGateway, protocol.Up, g.c.cfg.ProductID, g.c.cfg.DeviceName)
	return g.c.Publish(ctx, topic, 0, b)
}

// operate sends one request and waits for its reply: the next reply of
// the same type that lists the same devices in the same order (or refuses
// the request as a whole).
func (g *Gateway) operate(ctx context.Context, typ string, devs []gwDevice) (gwReply, error) {
	g.opMu.Lock()
	defer g.opMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, g.c.cfg.RequestTimeout)
	defer cancel()
	if g.subTok != nil {
		if err := waitToken(ctx, g.subTok, g.c.cfg.RequestTimeout); err != nil {
			return gwReply{}, fmt.Errorf("sdk: gateway %s: subscribe %s: %w", typ, g.result, err)
		}
	}
	ch := make(chan gwReply, 4)
	g.mu.Lock()
	g.waitType, g.replies = typ, ch
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waitType, g.replies = "", nil
		g.mu.Unlock()
	}()
	msg := map[string]any{"type": typ}
	if typ != gwDescribe {
		msg["payload"] = map[string]any{"devices": devs}
	}
	if err := g.publish(ctx, msg); err != nil {
		return gwReply{}, fmt.Errorf("sdk: gateway %s: %w", typ, err)
	}
	for {
		select {
		case r := <-ch:
			if r.Result != nil && *r.Result != GatewayResultOK {
				return r, &GatewayResultError{Op: typ, Code: *r.Result}
			}
			if typ == gwDescribe || sameDevices(r.Payload.Devices, devs) {
				return r, nil
			}
			g.c.log.Debug("gateway reply for another request", "type", typ)
		case <-ctx.Done():
			err := ctx.Err()
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w: %w", ErrTimeout, err)
			}
			return gwReply{}, fmt.Errorf("sdk: gateway %s: %w", typ, err)
		}
	}
}

func sameDevices(got, want []gwDevice) bool {
	return slices.EqualFunc(got, want, func(a, b gwDevice) bool {
		return a.ProductID == b.ProductID && a.DeviceName == b.DeviceName
	})
}

// perDevice runs a per-device operation on subs in requests of at most
// MaxSubDevicesPerRequest devices. It returns the sub-devices that
// succeeded and an error joining a *GatewayResultError per refused one.
func (g *Gateway) perDevice(ctx context.Context, typ string, devs []gwDevice) ([]SubDevice, error) {
	var ok []SubDevice
	var errs []error
	for chunk := range slices.Chunk(devs, MaxSubDevicesPerRequest) {
		r, err := g.operate(ctx, typ, chunk)
		if err != nil {
			return ok, errors.Join(append(errs, err)...)
		}
		for _, d := range r.Payload.Devices {
			sd := SubDevice{ProductID: d.ProductID, DeviceName: d.DeviceName}
			if d.Result == nil || *d.Result == GatewayResultOK {
				ok = append(ok, sd)
				continue
			}
			errs = append(errs, &GatewayResultError{Op: typ, SubDevice: sd, Code: *d.Result})
		}
	}
	return ok, errors.Join(errs...)
}

func refs(subs []SubDevice) []gwDevice {
	devs := make([]gwDevice, len(subs))
	for i, s := range subs {
		devs[i] = gwDevice{ProductID: s.ProductID, DeviceName: s.DeviceName}
	}
	return devs
}

// BindSubDevices binds sub-devices to the gateway with signed bind
// requests (HMAC-SHA256 over `{pid}{dn};{random};{timestamp}`, keyed with
// the sub-device's secret or certificate MD5). The sub-device product must
// be associated with the gateway product. Refused devices are reported as
// *GatewayResultError joined in the error (GatewayResultDuplicateBind for
// one already bound to this gateway).
func (g *Gateway) BindSubDevices(ctx context.Context, subs ...SubDeviceCredentials) error {
	devs := make([]gwDevice, 0, len(subs))
	ts := time.Now().Unix()
	for _, s := range subs {
		key, auth := s.DeviceSecret, protocol.BindAuthPSK
		if len(s.CertPEM) > 0 {
			key, auth = protocol.CertBindKey(s.CertPEM), protocol.BindAuthCert
		}
		if key == "" {
			return fmt.Errorf("sdk: gateway bind %s/%s: neither a device secret nor a certificate", s.ProductID, s.DeviceName)
		}
		random := rand.Int64N(1 << 31)
		sig, err := protocol.SignBind(key, protocol.BindText(s.ProductID, s.DeviceName, random, ts), protocol.MethodHMACSHA256)
		if err != nil {
			return fmt.Errorf("sdk: gateway bind: %w", err)
		}
		devs = append(devs, gwDevice{ProductID: s.ProductID, DeviceName: s.DeviceName, Signature: sig,
			Random: random, Timestamp: ts, SignMethod: protocol.MethodHMACSHA256, AuthType: auth})
	}
	_, err := g.perDevice(ctx, gwBind, devs)
	return err
}

// UnbindSubDevices unbinds sub-devices from the gateway; they go offline.
func (g *Gateway) UnbindSubDevices(ctx context.Context, subs ...SubDevice) error {
	done, err := g.perDevice(ctx, gwUnbind, refs(subs))
	for _, s := range done {
		g.wentOffline(ctx, s)
	}
	return err
}

// DescribeSubDevices lists the sub-devices bound to the gateway.
func (g *Gateway) DescribeSubDevices(ctx context.Context) ([]SubDevice, error) {
	r, err := g.operate(ctx, gwDescribe, nil)
	if err != nil {
		return nil, err
	}
	list := make([]SubDevice, 0, len(r.Payload.Devices))
	for _, d := range r.Payload.Devices {
		list = append(list, SubDevice{ProductID: d.ProductID, DeviceName: d.DeviceName})
	}
	return list, nil
}
