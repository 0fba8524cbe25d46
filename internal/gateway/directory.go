package gateway

import "context"

// Directory tells the other nodes of a cluster which sub-devices are online
// through a gateway connected to this node, so that their downlinks are
// routed here. The app implements it over the bus; a single node has none.
type Directory interface {
	// SubDeviceOnline records that sub is online through gateway gw,
	// connected to this node.
	SubDeviceOnline(ctx context.Context, sub, gw DeviceID) error
	// SubDeviceOffline removes that record, unless sub came online through
	// another gateway or node meanwhile.
	SubDeviceOffline(ctx context.Context, sub, gw DeviceID) error
}

// publish records in the Directory that sub is online through gw. A
// failure only costs the routing from other nodes: it is logged.
func (s *Service) publish(ctx context.Context, gw, sub DeviceID) {
	if s.dir == nil {
		return
	}
	if err := s.dir.SubDeviceOnline(ctx, sub, gw); err != nil {
		s.log.Error("publish sub-device presence", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
	}
}

// unpublish removes the Directory's record of sub online through gw.
func (s *Service) unpublish(ctx context.Context, gw, sub DeviceID) {
	if s.dir == nil {
		return
	}
	if err := s.dir.SubDeviceOffline(ctx, sub, gw); err != nil {
		s.log.Error("unpublish sub-device presence", "product", sub.ProductID, "device", sub.DeviceName, "err", err)
	}
}
