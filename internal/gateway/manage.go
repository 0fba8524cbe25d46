package gateway

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

// gatewayProduct returns the product id's product if it is a gateway.
func (s *Service) gatewayProduct(ctx context.Context, id string) (registry.Product, error) {
	p, err := s.devs.GetProduct(ctx, id)
	if err != nil {
		return registry.Product{}, err
	}
	if p.ProductType != registry.ProductTypeGateway {
		return registry.Product{}, fmt.Errorf("product %s: %w", id, ErrNotGateway)
	}
	return p, nil
}

// BindProducts associates normal products with a gateway product.
func (s *Service) BindProducts(ctx context.Context, gwPID string, productIDs []string) error {
	if _, err := s.gatewayProduct(ctx, gwPID); err != nil {
		return err
	}
	for _, pid := range productIDs {
		p, err := s.devs.GetProduct(ctx, pid)
		if err != nil {
			return err
		}
		if p.ProductType != registry.ProductTypeNormal {
			return fmt.Errorf("product %s: %w", pid, ErrNotNormal)
		}
	}
	for _, pid := range productIDs {
		if err := s.store.AddSubProduct(ctx, SubProduct{GatewayProductID: gwPID, ProductID: pid, CreatedAt: s.now().UTC()}); err != nil {
			return err
		}
	}
	return nil
}

// UnbindProducts dissociates products from a gateway product. Devices
// already bound stay bound.
func (s *Service) UnbindProducts(ctx context.Context, gwPID string, productIDs []string) error {
	if _, err := s.gatewayProduct(ctx, gwPID); err != nil {
		return err
	}
	for _, pid := range productIDs {
		if err := s.store.RemoveSubProduct(ctx, gwPID, pid); err != nil {
			return err
		}
	}
	return nil
}

// SubProducts returns the products associated with a gateway product.
func (s *Service) SubProducts(ctx context.Context, gwPID string) ([]SubProduct, error) {
	if _, err := s.gatewayProduct(ctx, gwPID); err != nil {
		return nil, err
	}
	return s.store.ListSubProducts(ctx, gwPID)
}

// gatewayDevice checks that a device exists and is a gateway.
func (s *Service) gatewayDevice(ctx context.Context, gw DeviceID) error {
	d, err := s.devs.GetDevice(ctx, gw.ProductID, gw.DeviceName)
	if err != nil {
		return err
	}
	if d.Product.ProductType != registry.ProductTypeGateway {
		return fmt.Errorf("device %s/%s: %w", gw.ProductID, gw.DeviceName, ErrNotGateway)
	}
	return nil
}

// BindDevices binds devices of product pid to a gateway device on the
// platform's authority (no signature) and tells the gateway with a change
// message. The first failing device stops the operation with its error
// (devices before it stay bound).
func (s *Service) BindDevices(ctx context.Context, gwPID, gwDN, pid string, names []string) error {
	gw := DeviceID{gwPID, gwDN}
	if err := s.gatewayDevice(ctx, gw); err != nil {
		return err
	}
	var done []DeviceID
	var err error
	for _, dn := range names {
		sub := DeviceID{pid, dn}
		_, code := s.checkBindable(ctx, gw, sub)
		if code == ResultOK {
			code = s.bind(ctx, gw, sub)
		}
		if code == ResultDuplicateBind {
			continue
		}
		if code != ResultOK {
			err = codeError(code, sub)
			break
		}
		done = append(done, sub)
	}
	s.notifyChange(ctx, gw, 1, done)
	return err
}

// UnbindDevices removes bindings of devices of product pid to a gateway
// device, takes them offline and tells the gateway with a change message.
func (s *Service) UnbindDevices(ctx context.Context, gwPID, gwDN, pid string, names []string) error {
	gw := DeviceID{gwPID, gwDN}
	if err := s.gatewayDevice(ctx, gw); err != nil {
		return err
	}
	var done []DeviceID
	var err error
	for _, dn := range names {
		sub := DeviceID{pid, dn}
		code := s.unbind(ctx, gw, sub)
		if code != ResultOK {
			err = codeError(code, sub)
			break
		}
		done = append(done, sub)
	}
	s.notifyChange(ctx, gw, 0, done)
	return err
}

// SubDevices returns one page of a gateway device's sub-devices (of one
// product when pid is not empty) and their total.
func (s *Service) SubDevices(ctx context.Context, gwPID, gwDN, pid string, offset, limit int) ([]Binding, int64, error) {
	if err := s.gatewayDevice(ctx, DeviceID{gwPID, gwDN}); err != nil {
		return nil, 0, err
	}
	return s.store.ListSubDevices(ctx, gwPID, gwDN, pid, offset, limit)
}

// BindingOf returns the gateway a device is bound to, or ErrNotBound.
func (s *Service) BindingOf(ctx context.Context, pid, dn string) (Binding, error) {
	return s.store.GetBinding(ctx, pid, dn)
}

// SearchDevices asks a gateway device to start (status 1) or stop (0)
// discovering sub-devices (PROTOCOL.md §8, search_devices). It fails with
// ErrBadStatus for another status, ErrNotGateway when the device is not a
// gateway, and with the Publisher's error when the gateway is offline.
func (s *Service) SearchDevices(ctx context.Context, gwPID, gwDN string, status int) error {
	if status != 0 && status != 1 {
		return fmt.Errorf("search_devices status %d: %w", status, ErrBadStatus)
	}
	if err := s.gatewayDevice(ctx, DeviceID{gwPID, gwDN}); err != nil {
		return err
	}
	var msg struct {
		Type    string `json:"type"`
		Payload struct {
			Status int `json:"status"`
		} `json:"payload"`
	}
	msg.Type, msg.Payload.Status = OpSearchDevices, status
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return s.pub.Publish(ctx, gwPID, gwDN, protocol.FamilyTopic(protocol.FamilyGateway, protocol.Down, gwPID, gwDN), b, 0)
}

// notifyChange sends a change message (status 1 bind, 0 unbind); an
// offline gateway learns nothing, as on Tencent's platform.
func (s *Service) notifyChange(ctx context.Context, gw DeviceID, status int, devs []DeviceID) {
	if len(devs) == 0 {
		return
	}
	var msg struct {
		Type    string `json:"type"`
		Payload struct {
			Status  int           `json:"status"`
			Devices []ReplyDevice `json:"devices"`
		} `json:"payload"`
	}
	msg.Type, msg.Payload.Status = OpChange, status
	for _, d := range devs {
		msg.Payload.Devices = append(msg.Payload.Devices, ReplyDevice{ProductID: d.ProductID, DeviceName: d.DeviceName})
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	topic := protocol.FamilyTopic(protocol.FamilyGateway, protocol.Down, gw.ProductID, gw.DeviceName)
	if err := s.pub.Publish(ctx, gw.ProductID, gw.DeviceName, topic, b, 0); err != nil {
		s.log.Debug("change not delivered", "product", gw.ProductID, "device", gw.DeviceName, "err", err)
	}
}

// ResultError is an operation refused with a protocol result code.
type ResultError struct {
	Code   int
	Device DeviceID
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("gateway: %s/%s: result %d", e.Device.ProductID, e.Device.DeviceName, e.Code)
}

// Unwrap maps the code to the package's sentinel errors.
func (e *ResultError) Unwrap() error {
	switch e.Code {
	case ResultNotBound:
		return ErrNotBound
	case ResultBoundElsewhere:
		return ErrBoundElsewhere
	case ResultNotNormal:
		return ErrNotNormal
	case ResultProductNotBound:
		return ErrProductNotAssociated
	case ResultNotAllowed:
		return ErrTooManySubDevices
	case ResultBadDevice:
		return registry.ErrDeviceNotFound
	}
	return nil
}

func codeError(code int, sub DeviceID) error {
	return &ResultError{Code: code, Device: sub}
}
