package gateway

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/thingo-iot/thingo/internal/devauth"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// DefaultSignWindow is how far a bind request's timestamp may be from now.
const DefaultSignWindow = time.Hour

// Devices is the registry the service reads devices from and records
// sub-device presence in. *registry.Service implements it.
type Devices interface {
	GetDevice(ctx context.Context, productID, name string) (registry.DeviceDetail, error)
	GetProduct(ctx context.Context, id string) (registry.Product, error)
	ListTopicPolicies(ctx context.Context, productID string) ([]registry.TopicPolicy, error)
	RecordConnect(ctx context.Context, productID, name string, p registry.Presence) error
	RecordDisconnect(ctx context.Context, productID, name string, at time.Time) error
}

// Publisher sends a message to a device.
type Publisher interface {
	Publish(ctx context.Context, productID, deviceName, topic string, payload []byte, qos byte) error
}

// Config configures a Service.
type Config struct {
	Store     Store     // required
	Devices   Devices   // required
	Publisher Publisher // required: replies and platform-initiated messages
	// Directory, when set (a cluster), is told which sub-devices are online
	// through this node's gateways.
	Directory Directory
	Logger    *slog.Logger
	Now       func() time.Time
	// MaxSubDevices bounds the sub-devices of one gateway (0: DefaultMaxSubDevices).
	MaxSubDevices int
	// SignWindow bounds a bind timestamp's distance from now (0: DefaultSignWindow).
	SignWindow time.Duration
}

// DeviceID names a device.
type DeviceID struct {
	ProductID  string
	DeviceName string
}

// gatewayState is one connected gateway: its connections and the
// sub-devices online through it with their compiled permissions.
type gatewayState struct {
	conns int
	subs  map[DeviceID]*devauth.ACL
}

// Service manages gateways and sub-devices. It is safe for concurrent use.
type Service struct {
	store  Store
	devs   Devices
	pub    Publisher
	dir    Directory // nil on a single node
	log    *slog.Logger
	now    func() time.Time
	max    int
	window time.Duration

	mu       sync.RWMutex
	gateways map[DeviceID]*gatewayState
	via      map[DeviceID]DeviceID // online sub-device -> its gateway

	wg sync.WaitGroup // presence writes after a gateway disconnect
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Devices == nil || cfg.Publisher == nil {
		return nil, errors.New("gateway: Store, Devices and Publisher are required")
	}
	s := &Service{
		store: cfg.Store, devs: cfg.Devices, pub: cfg.Publisher, dir: cfg.Directory, log: cfg.Logger, now: cfg.Now,
		max: cfg.MaxSubDevices, window: cfg.SignWindow,
		gateways: make(map[DeviceID]*gatewayState),
		via:      make(map[DeviceID]DeviceID),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.max <= 0 {
		s.max = DefaultMaxSubDevices
	}
	if s.window <= 0 {
		s.window = DefaultSignWindow
	}
	return s, nil
}

// Wait waits for the presence writes started by GatewayDisconnected.
func (s *Service) Wait() { s.wg.Wait() }

// Via returns the gateway a sub-device is online through.
func (s *Service) Via(productID, deviceName string) (gwProductID, gwDeviceName string, ok bool) {
	s.mu.RLock()
	gw, ok := s.via[DeviceID{productID, deviceName}]
	s.mu.RUnlock()
	return gw.ProductID, gw.DeviceName, ok
}

// Online reports whether a sub-device is online through a gateway.
func (s *Service) Online(productID, deviceName string) bool {
	_, _, ok := s.Via(productID, deviceName)
	return ok
}

// Extra returns the devauth.ACL Extra hook of gateway gwPID/gwDN: it
// grants the topics and filters that the sub-devices online through this
// gateway may use, consulting only memory.
func (s *Service) Extra(gwPID, gwDN string) func(topic string, publish bool) bool {
	gw := DeviceID{gwPID, gwDN}
	return func(topic string, publish bool) bool {
		s.mu.RLock()
		defer s.mu.RUnlock()
		st := s.gateways[gw]
		if st == nil || len(st.subs) == 0 {
			return false
		}
		// The identity {pid}/{dn} is a pair of consecutive levels.
		prev := ""
		rest := topic
		for {
			level, tail, more := strings.Cut(rest, "/")
			if prev != "" {
				if acl := st.subs[DeviceID{prev, level}]; acl != nil {
					if publish {
						return acl.CanPublish(topic)
					}
					return acl.CanSubscribe(topic)
				}
			}
			if !more {
				return false
			}
			prev, rest = level, tail
		}
	}
}

// GatewayConnected records a connection of a gateway device.
func (s *Service) GatewayConnected(gwPID, gwDN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gw := DeviceID{gwPID, gwDN}
	st := s.gateways[gw]
	if st == nil {
		st = &gatewayState{subs: make(map[DeviceID]*devauth.ACL)}
		s.gateways[gw] = st
	}
	st.conns++
}

// GatewayDisconnected records the end of a gateway connection. When it was
// the last one, every sub-device online through the gateway goes offline:
// at once for the ACL and routing, in the background in the registry.
func (s *Service) GatewayDisconnected(gwPID, gwDN string, at time.Time) {
	s.mu.Lock()
	gw := DeviceID{gwPID, gwDN}
	st := s.gateways[gw]
	if st == nil {
		s.mu.Unlock()
		return
	}
	if st.conns--; st.conns > 0 {
		s.mu.Unlock()
		return
	}
	delete(s.gateways, gw)
	subs := make([]DeviceID, 0, len(st.subs))
	for sub := range st.subs {
		delete(s.via, sub)
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, sub := range subs {
			if s.Online(sub.ProductID, sub.DeviceName) {
				continue // back online through a new connection meanwhile
			}
			s.unpublish(ctx, gw, sub)
			if err := s.devs.RecordDisconnect(ctx, sub.ProductID, sub.DeviceName, at); err != nil &&
				!errors.Is(err, registry.ErrDeviceNotFound) {
				s.log.Error("record sub-device disconnect", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
			}
		}
		s.log.Info("gateway offline, sub-devices offline", "product", gwPID, "device", gwDN, "sub_devices", len(subs))
	}()
}

// goOnline brings a bound sub-device online through a connected gateway.
func (s *Service) goOnline(ctx context.Context, gw, sub DeviceID) int {
	d, err := s.devs.GetDevice(ctx, sub.ProductID, sub.DeviceName)
	switch {
	case errors.Is(err, registry.ErrDeviceNotFound), errors.Is(err, registry.ErrProductNotFound):
		return ResultBadDevice
	case err != nil:
		s.log.Error("online: get sub-device", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
		return ResultSystemError
	case d.Device.EnableState == registry.Disabled:
		return ResultNotAllowed // a disabled device may not connect
	}
	policies, err := s.devs.ListTopicPolicies(ctx, sub.ProductID)
	if err != nil {
		s.log.Error("sub-device topics", "product", sub.ProductID, "err", err)
		return ResultSystemError
	}
	acl := devauth.NewACL(sub.ProductID, sub.DeviceName, false, policies)
	s.mu.Lock()
	st := s.gateways[gw]
	if st == nil {
		s.mu.Unlock()
		return ResultSystemError // the gateway is gone
	}
	if old, ok := s.via[sub]; ok && old != gw {
		if ost := s.gateways[old]; ost != nil {
			delete(ost.subs, sub)
		}
	}
	st.subs[sub] = acl
	s.via[sub] = gw
	s.mu.Unlock()
	s.publish(ctx, gw, sub)
	if err := s.devs.RecordConnect(ctx, sub.ProductID, sub.DeviceName, registry.Presence{
		Online: true, LastLogin: s.now().UTC(),
	}); err != nil {
		s.log.Error("record sub-device connect", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
	}
	return ResultOK
}

// goOffline takes a sub-device offline if it is online through gw.
func (s *Service) goOffline(ctx context.Context, gw, sub DeviceID) {
	s.mu.Lock()
	cur, ok := s.via[sub]
	if ok && cur == gw {
		delete(s.via, sub)
		if st := s.gateways[gw]; st != nil {
			delete(st.subs, sub)
		}
	}
	s.mu.Unlock()
	if !ok || cur != gw {
		return
	}
	s.unpublish(ctx, gw, sub)
	if err := s.devs.RecordDisconnect(ctx, sub.ProductID, sub.DeviceName, s.now().UTC()); err != nil &&
		!errors.Is(err, registry.ErrDeviceNotFound) {
		s.log.Error("record sub-device disconnect", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
	}
}

// checkBindable returns the result code of binding sub to gateway gw,
// before the signature check, and the sub-device.
func (s *Service) checkBindable(ctx context.Context, gw, sub DeviceID) (registry.DeviceDetail, int) {
	if !protocol.ValidProductID(sub.ProductID) || !protocol.ValidDeviceName(sub.DeviceName) {
		return registry.DeviceDetail{}, ResultBadParams
	}
	if sub == gw {
		return registry.DeviceDetail{}, ResultNotNormal
	}
	d, err := s.devs.GetDevice(ctx, sub.ProductID, sub.DeviceName)
	switch {
	case errors.Is(err, registry.ErrDeviceNotFound), errors.Is(err, registry.ErrProductNotFound), errors.Is(err, registry.ErrNotFound):
		return d, ResultBadDevice
	case err != nil:
		s.log.Error("bind: get sub-device", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
		return d, ResultSystemError
	case d.Product.ProductType != registry.ProductTypeNormal:
		return d, ResultNotNormal
	}
	ok, err := s.store.IsSubProduct(ctx, gw.ProductID, sub.ProductID)
	switch {
	case err != nil:
		s.log.Error("bind: sub-product", "product", sub.ProductID, "err", err)
		return d, ResultSystemError
	case !ok:
		return d, ResultProductNotBound
	}
	return d, ResultOK
}

// bind stores a binding and returns its result code.
func (s *Service) bind(ctx context.Context, gw, sub DeviceID) int {
	err := s.store.BindSubDevice(ctx, Binding{GatewayProductID: gw.ProductID, GatewayName: gw.DeviceName,
		ProductID: sub.ProductID, DeviceName: sub.DeviceName, BoundAt: s.now().UTC()}, s.max)
	switch {
	case err == nil:
		return ResultOK
	case errors.Is(err, ErrAlreadyBound):
		return ResultDuplicateBind
	case errors.Is(err, ErrBoundElsewhere):
		return ResultBoundElsewhere
	case errors.Is(err, ErrTooManySubDevices):
		return ResultNotAllowed
	case errors.Is(err, registry.ErrDeviceNotFound):
		return ResultBadDevice
	default:
		s.log.Error("bind", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
		return ResultSystemError
	}
}

// unbind removes a binding (taking the sub-device offline) and returns its
// result code.
func (s *Service) unbind(ctx context.Context, gw, sub DeviceID) int {
	err := s.store.UnbindSubDevice(ctx, gw.ProductID, gw.DeviceName, sub.ProductID, sub.DeviceName)
	switch {
	case errors.Is(err, ErrNotBound):
		return ResultNotBound
	case err != nil:
		s.log.Error("unbind", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
		return ResultSystemError
	}
	s.goOffline(ctx, gw, sub)
	return ResultOK
}

// boundTo returns the result code of an operation of gw on sub that needs
// the binding: ResultOK, ResultNotBound or ResultSystemError.
func (s *Service) boundTo(ctx context.Context, gw, sub DeviceID) int {
	b, err := s.store.GetBinding(ctx, sub.ProductID, sub.DeviceName)
	switch {
	case errors.Is(err, ErrNotBound):
		return ResultNotBound
	case err != nil:
		s.log.Error("get binding", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
		return ResultSystemError
	case b.GatewayProductID != gw.ProductID || b.GatewayName != gw.DeviceName:
		return ResultNotBound
	}
	return ResultOK
}
