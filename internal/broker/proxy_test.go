package broker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/thingo-iot/thingo/internal/devauth"
)

// fakeProxies routes sub-device downlinks to a gateway device.
type fakeProxies struct {
	mu  sync.Mutex
	via map[string]string // sub-device name -> gateway device name
}

func (p *fakeProxies) OnlineSubDevices(_, gwDN string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, gw := range p.via {
		if gw == gwDN {
			n++
		}
	}
	return n
}

func (p *fakeProxies) Via(productID, deviceName string) (string, string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gw, ok := p.via[deviceName]
	return productID, gw, ok
}

// gatewayAuth grants device "gw" the topics of device "sub" via ACL.Extra.
type gatewayAuth struct{ fakeAuth }

func (a *gatewayAuth) Authenticate(ctx context.Context, r devauth.ConnectRequest) (devauth.Identity, error) {
	id, err := a.fakeAuth.Authenticate(ctx, r)
	if err == nil && id.DeviceName == "gw" {
		sub := devauth.NewACL(testPID, "sub", false, nil)
		id.ACL.Extra = func(topic string, publish bool) bool {
			if publish {
				return sub.CanPublish(topic)
			}
			return sub.CanSubscribe(topic)
		}
	}
	return id, err
}

func TestDeliverThroughGateway(t *testing.T) {
	proxies := &fakeProxies{via: map[string]string{}}
	tb := startBroker(t, Options{}, Deps{Authenticator: &gatewayAuth{}, Proxies: proxies})
	ctx := context.Background()
	col := &collector{}
	c := mustDial(t, clientOpts{url: tb.url(ListenerTCP), dn: "gw", clean: true})
	wait(t, c.Subscribe(downTopic("sub"), 1, col.handle))

	tests := []struct {
		name    string
		via     string
		topic   string
		want    Delivery
		wantErr error
	}{
		{"not online through a gateway", "", downTopic("sub"), 0, ErrDeviceOffline},
		{"through the gateway", "gw", downTopic("sub"), Delivered, nil},
		{"gateway not subscribed", "gw", "$ota/update/" + testPID + "/sub", 0, ErrNotSubscribed},
		{"gateway offline", "gone", downTopic("sub"), 0, ErrDeviceOffline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxies.mu.Lock()
			if tt.via == "" {
				delete(proxies.via, "sub")
			} else {
				proxies.via["sub"] = tt.via
			}
			proxies.mu.Unlock()
			got, err := tb.Deliver(ctx, testPID, "sub", tt.topic, []byte(tt.name), 1)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Fatalf("Deliver = %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if got := col.waitN(t, 1); strings.Join(got, ",") != "through the gateway" {
		t.Fatalf("received %v", got)
	}
}
