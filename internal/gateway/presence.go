package gateway

import "context"

// OnlineSubDevices returns the number of sub-devices online through gateway
// gwPID/gwDN. It consults only memory, so the broker may call it for every
// message of a gateway connection (uplink rate allowance).
func (s *Service) OnlineSubDevices(gwPID, gwDN string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if st := s.gateways[DeviceID{gwPID, gwDN}]; st != nil {
		return len(st.subs)
	}
	return 0
}

// SubDeviceDeleted forgets a sub-device that was deleted from the registry:
// it leaves its gateway's online set at once (so that its downlinks are no
// longer routed to the gateway) and, when b is its binding as read before
// the deletion (nil: it was not bound), the gateway is told with a change
// message (status 0). The binding row itself went with the device.
func (s *Service) SubDeviceDeleted(ctx context.Context, productID, deviceName string, b *Binding) {
	sub := DeviceID{productID, deviceName}
	s.mu.Lock()
	gw, online := s.via[sub]
	if online {
		delete(s.via, sub)
		if st := s.gateways[gw]; st != nil {
			delete(st.subs, sub)
		}
	}
	s.mu.Unlock()
	if online {
		s.unpublish(ctx, gw, sub)
	}
	if b != nil {
		s.notifyChange(ctx, DeviceID{b.GatewayProductID, b.GatewayName}, 0, []DeviceID{sub})
	}
}
