package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/thingo-iot/thingo/protocol"
	"github.com/thingo-iot/thingo/protocol/tlspsk"
)

// pskDial runs a TLS-PSK handshake to the node's TLS listener the way
// Tencent's C SDK in "TLS + key" mode does (PROTOCOL.md §13.2): only the two
// PSK-CBC suites, identity {pid}{dn}, SNI {pid}.iotcloud.tencentdevices.com.
func (s *server) pskDial(pid, identity string, key []byte) (*tlspsk.Conn, error) {
	raw, err := net.DialTimeout("tcp", s.app.MQTTAddr("tls").String(), 10*time.Second)
	if err != nil {
		return nil, err
	}
	pc := tlspsk.Client(raw, &tlspsk.ClientConfig{
		Identity:         identity,
		Key:              key,
		ServerName:       pid + ".iotcloud.tencentdevices.com",
		CipherSuites:     []uint16{tlspsk.TLS_PSK_WITH_AES_128_CBC_SHA, tlspsk.TLS_PSK_WITH_AES_256_CBC_SHA},
		HandshakeTimeout: 10 * time.Second,
	})
	if err := pc.Handshake(context.Background()); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return pc, nil
}

// pskOpts are paho options for a device over TLS-PSK: CONNECT carries the C
// SDK's username and no password.
func (s *server) pskOpts(pid, identity, clientID string, key []byte) *mqtt.ClientOptions {
	user := fmt.Sprintf("%s;12010126;abcde;%d", clientID, protocol.NeverExpires)
	return mqtt.NewClientOptions().AddBroker("tcp://" + s.app.MQTTAddr("tls").String()).
		SetClientID(clientID).SetUsername(user).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(15 * time.Second).SetKeepAlive(60 * time.Second).
		SetProtocolVersion(4).
		SetCustomOpenConnectionFn(func(*url.URL, mqtt.ClientOptions) (net.Conn, error) {
			return s.pskDial(pid, identity, key)
		})
}

// requirePSK skips the test when the node's TLS listener answers a PSK-only
// ClientHello the way crypto/tls does (handshake_failure: no common suite),
// that is when the app does not give the broker its PSKKeys.
func (s *server) requirePSK(t *testing.T, pid, identity string, key []byte) {
	t.Helper()
	pc, err := s.pskDial(pid, identity, key)
	if err == nil {
		_ = pc.Close()
		return
	}
	var ae *tlspsk.AlertError
	if errors.As(err, &ae) && ae.Remote && ae.Alert == tlspsk.AlertHandshakeFailure {
		t.Skipf("the node's 8883 does not speak TLS-PSK (internal/app does not set broker.Deps.PSKKeys yet): %v", err)
	}
	t.Fatalf("TLS-PSK handshake with the right key: %v", err)
}

// TestPSKDevice: a key device authenticated by TLS-PSK on the TLS listener
// connects without a password; wrong keys, unknown, disabled and certificate
// devices fail the handshake; a client id other than the PSK identity is
// refused with CONNACK 0x02.
func TestPSKDevice(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "psk1")
	other := s.newDevice(pid, "psk2")
	key, err := base64.StdEncoding.DecodeString(d.PSK)
	if err != nil {
		t.Fatalf("DevicePsk %q: %v", d.PSK, err)
	}
	id := pid + d.Name
	s.requirePSK(t, pid, id, key)

	t.Run("connect without password", func(t *testing.T) {
		c := mustConnect(t, s.pskOpts(pid, id, id, key))
		got := make(chan string, 1)
		topic := "$thing/down/property/" + pid + "/" + d.Name
		if tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		s.mustCall("PublishMessage", map[string]any{
			"ProductId": pid, "DeviceName": d.Name, "Topic": topic,
			"Payload": `{"method":"control","clientToken":"psk-1","params":{"power_switch":1}}`, "Qos": 1,
		}, nil)
		select {
		case p := <-got:
			if !strings.Contains(p, `"clientToken":"psk-1"`) {
				t.Fatalf("payload %q", p)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no downlink")
		}
		var desc struct{ Device struct{ Status int64 } }
		waitFor(t, 5*time.Second, func() error {
			s.mustCall("DescribeDevice", map[string]any{"ProductId": pid, "DeviceName": d.Name}, &desc)
			if desc.Device.Status != 1 {
				return fmt.Errorf("status %d, want 1 (online)", desc.Device.Status)
			}
			return nil
		})
	})

	t.Run("client id of another device", func(t *testing.T) {
		_, err := connect(t, s.pskOpts(pid, id, pid+other.Name, key))
		if connackCode(err) != 0x02 {
			t.Fatalf("connect: %v, want CONNACK 0x02", err)
		}
	})

	certPID := s.newProduct("1")
	certDev := s.newDevice(certPID, "cam1")
	refused := []struct {
		name      string
		identity  string
		key       []byte
		wantAlert tlspsk.Alert // 0: any alert
		disable   bool
	}{
		{name: "wrong key", identity: id, key: []byte("not the device key")},
		{name: "unknown device", identity: pid + "nobody", key: key, wantAlert: tlspsk.AlertUnknownPSKIdentity},
		{name: "certificate device", identity: certPID + certDev.Name, key: key, wantAlert: tlspsk.AlertUnknownPSKIdentity},
		{name: "disabled device", identity: id, key: key, wantAlert: tlspsk.AlertUnknownPSKIdentity, disable: true},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if tt.disable {
				item := []map[string]any{{"ProductId": pid, "DeviceName": d.Name}}
				s.mustCall("UpdateDevicesEnableState", map[string]any{"DevicesItems": item, "Status": 0}, nil)
			}
			pc, err := s.pskDial(pid, tt.identity, tt.key)
			if err == nil {
				_ = pc.Close()
				t.Fatal("handshake succeeded")
			}
			var ae *tlspsk.AlertError
			if !errors.As(err, &ae) || !ae.Remote {
				t.Fatalf("handshake: %v, want an alert from the node", err)
			}
			if tt.wantAlert != 0 && ae.Alert != tt.wantAlert {
				t.Fatalf("alert %v, want %v", ae.Alert, tt.wantAlert)
			}
		})
	}
}
