package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/sdk"
)

// recv waits for a value on ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("no %s", what)
		var zero T
		return zero
	}
}

// TestE2EGateway drives a gateway through bind, online, proxied thing-model
// traffic both ways, a reconnection (sub-devices come back online), change
// pushes, offline and unbind, then checks that Close leaves no goroutine.
func TestE2EGateway(t *testing.T) {
	n := startNode(t)
	gwPID := n.newModelProduct(5)
	subPID := n.newModelProduct(0)
	n.call("BindProducts", map[string]any{"GatewayProductId": gwPID, "ProductIds": []string{subPID}}, nil)
	gw := n.newDevice(gwPID, "gw1")
	sub1, sub2, sub3 := n.newDevice(subPID, "sub1"), n.newDevice(subPID, "sub2"), n.newDevice(subPID, "sub3")
	id1 := sdk.SubDevice{ProductID: subPID, DeviceName: "sub1"}
	id2 := sdk.SubDevice{ProductID: subPID, DeviceName: "sub2"}

	before := runtime.NumGoroutine()
	var connects atomic.Int32
	c, err := sdk.New(sdk.Config{ProductID: gwPID, DeviceName: gw.DeviceName, DeviceSecret: gw.DevicePsk,
		Broker: n.url("tcp"), MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		OnConnect: func(bool) { connects.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g := c.Gateway()
	if c.Gateway() != g {
		t.Fatal("Gateway returns a new gateway on each call")
	}
	changes := make(chan sdk.GatewayChange, 4)
	g.OnChange(func(_ context.Context, ch sdk.GatewayChange) { changes <- ch })
	mustConnect(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Bind: two good signatures, then a duplicate and a wrong key.
	creds := func(d deviceData) sdk.SubDeviceCredentials {
		return sdk.SubDeviceCredentials{ProductID: subPID, DeviceName: d.DeviceName, DeviceSecret: d.DevicePsk}
	}
	if err := g.BindSubDevices(ctx, creds(sub1), creds(sub2)); err != nil {
		t.Fatalf("bind: %v", err)
	}
	bad := creds(sub3)
	bad.DeviceSecret = "wrong"
	err = g.BindSubDevices(ctx, creds(sub1), bad)
	var codes []int
	for _, e := range []error{err} {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				var re *sdk.GatewayResultError
				if errors.As(e, &re) {
					codes = append(codes, re.Code)
				}
			}
		}
	}
	if !slices.Equal(codes, []int{sdk.GatewayResultDuplicateBind, sdk.GatewayResultBadSignature}) {
		t.Fatalf("bind duplicate and bad signature: %v (codes %v)", err, codes)
	}
	list, err := g.DescribeSubDevices(ctx)
	if err != nil || !slices.Contains(list, id1) || !slices.Contains(list, id2) || len(list) != 2 {
		t.Fatalf("DescribeSubDevices = %v, %v", list, err)
	}

	// Online, then thing-model traffic through the gateway.
	s1, s2 := g.SubDevice(subPID, "sub1"), g.SubDevice(subPID, "sub2")
	controls := make(chan map[string]any, 8)
	s1.OnControl(func(_ context.Context, p map[string]any) (int, string) {
		controls <- p
		return 0, "ok"
	})
	s1.OnAction("light_blink", func(_ context.Context, p map[string]any) (int, string, map[string]any) {
		return 0, "blinked", map[string]any{"err_code": 0}
	})
	// Offline: the platform drops the report, no reply comes.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	if _, err := s1.ReportProperties(short, map[string]any{"brightness": 1}); !errors.Is(err, sdk.ErrTimeout) {
		t.Fatalf("report of an offline sub-device: %v, want ErrTimeout", err)
	}
	cancelShort()
	if err := g.Online(ctx, id1, id2); err != nil {
		t.Fatalf("online: %v", err)
	}
	if !s1.IsOnline() || !s2.IsOnline() {
		t.Fatal("sub-devices not online")
	}
	if _, err := s1.ReportProperties(ctx, map[string]any{"brightness": 12}); err != nil {
		t.Fatalf("sub-device report: %v", err)
	}
	if _, err := s2.PostEvents(ctx, []sdk.Event{{ID: "low_voltage", Type: sdk.EventAlert, Params: map[string]any{"voltage": 1.5}}}); err != nil {
		t.Fatalf("sub-device events: %v", err)
	}
	if st, err := s1.GetStatus(ctx); err != nil || st.Reported["brightness"] != float64(12) {
		t.Fatalf("sub-device status = %+v, %v", st, err)
	}
	n.call("ControlDeviceData", map[string]any{"ProductId": subPID, "DeviceName": "sub1", "Data": `{"brightness":50}`}, nil)
	if p := recv(t, controls, "control"); p["brightness"] != float64(50) {
		t.Fatalf("control params %v", p)
	}
	var act struct{ OutputParams, Status string }
	n.call("CallDeviceActionSync", map[string]any{"ProductId": subPID, "DeviceName": "sub1", "ActionId": "light_blink",
		"InputParams": `{"time":1,"color":0,"total_time":2}`}, &act)
	if !strings.Contains(act.OutputParams, `"err_code":0`) {
		t.Fatalf("action through the gateway: %+v", act)
	}

	// A takeover drops the gateway's connection: the SDK reconnects and
	// brings the sub-devices online again.
	clientID, user, pass, err := protocol.DeviceCredentials(gwPID, gw.DeviceName, gw.DevicePsk, protocol.MethodHMACSHA256, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	intruder := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(n.url("tcp")).SetClientID(clientID).
		SetUsername(user).SetPassword(pass).SetAutoReconnect(false).SetProtocolVersion(4))
	if tok := intruder.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("intruder connect: %v", tok.Error())
	}
	defer intruder.Disconnect(0)
	waitFor(t, 30*time.Second, func() error {
		if connects.Load() < 2 || !c.IsConnected() {
			return fmt.Errorf("connects %d", connects.Load())
		}
		return nil
	})
	i := 0
	waitFor(t, 30*time.Second, func() error {
		i++
		n.call("ControlDeviceData", map[string]any{"ProductId": subPID, "DeviceName": "sub1", "Data": fmt.Sprintf(`{"brightness":%d}`, i)}, nil)
		select {
		case p := <-controls:
			if p["brightness"] == float64(i) {
				return nil
			}
			return fmt.Errorf("control %v", p)
		case <-time.After(200 * time.Millisecond):
			return errors.New("no control after reconnecting")
		}
	})

	// Offline, then the API unbinds and binds sub2: change pushes.
	if err := s2.Offline(ctx); err != nil || s2.IsOnline() {
		t.Fatalf("offline: %v", err)
	}
	n.call("UnbindDevices", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1", "ProductId": subPID, "DeviceNames": []string{"sub2"}}, nil)
	if ch := recv(t, changes, "change push"); ch.Bound || !slices.Equal(ch.Devices, []sdk.SubDevice{id2}) {
		t.Fatalf("unbind change = %+v", ch)
	}
	n.call("BindDevices", map[string]any{"GatewayProductId": gwPID, "GatewayDeviceName": "gw1", "ProductId": subPID, "DeviceNames": []string{"sub2"}}, nil)
	if ch := recv(t, changes, "change push"); !ch.Bound || !slices.Equal(ch.Devices, []sdk.SubDevice{id2}) {
		t.Fatalf("bind change = %+v", ch)
	}
	if err := g.UnbindSubDevices(ctx, id1); err != nil || s1.IsOnline() {
		t.Fatalf("unbind: %v", err)
	}
	if err := g.Online(ctx, id1); err == nil {
		t.Fatal("unbound sub-device brought online")
	}

	intruder.Disconnect(0)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines, %d before", n, before)
		}
		return nil
	})
}
