package gocommon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/apptest"
	"github.com/thingo-iot/thingo/protocol"
)

// node is a full Thingo node (the composition root of `thingo serve`)
// running in-process on random loopback ports.
type node struct {
	app *app.App
}

func startNode(t *testing.T) *node {
	t.Helper()
	return &node{app: apptest.Start(t, "").App}
}

// client returns the official generic client for the node's API, signed
// with the node's admin credential.
func (n *node) client(t *testing.T) client {
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = n.app.HTTPAddr().String()
	cpf.HttpProfile.Scheme = "HTTP"
	cpf.HttpProfile.ReqMethod = "POST"
	cred := n.app.AdminCredential()
	return client{t: t, c: common.NewCommonClient(common.NewCredential(cred.SecretID, cred.SecretKey), "ap-guangzhou", cpf)}
}

// typed sends an action through the generic client and decodes the
// Response into out, a struct mirroring the SDK's XxxResponseParams: a JSON
// type that differs from the SDK's (a number for a string, ...) fails.
func (c client) typed(action string, params map[string]any, out any) {
	c.t.Helper()
	req := tchttp.NewCommonRequest("iotexplorer", "2019-04-23", action)
	if err := req.SetActionParameters(params); err != nil {
		c.t.Fatal(err)
	}
	resp := tchttp.NewCommonResponse()
	if err := c.c.Send(req, resp); err != nil {
		c.t.Fatalf("%s: %v", action, err)
	}
	var env struct {
		Response json.RawMessage
	}
	if err := json.Unmarshal(resp.GetBody(), &env); err != nil {
		c.t.Fatalf("%s: %v", action, err)
	}
	var id struct{ RequestId *string }
	if err := json.Unmarshal(env.Response, &id); err != nil || id.RequestId == nil || *id.RequestId == "" {
		c.t.Errorf("%s: RequestId missing or not a string: %s", action, env.Response)
	}
	if err := json.Unmarshal(env.Response, out); err != nil {
		c.t.Fatalf("%s: response does not decode into the SDK shape: %v\n%s", action, err, env.Response)
	}
}

// simDevice is a paho device that answers like the C SDK samples: control,
// actions and RRPC requests get their replies.
type simDevice struct {
	t        *testing.T
	pid, dn  string
	c        mqtt.Client
	mu       sync.Mutex
	received []string // "topic payload"
}

func connectDevice(t *testing.T, n *node, pid, dn, psk string) *simDevice {
	t.Helper()
	clientID, user, pass, err := protocol.DeviceCredentials(pid, dn, psk, "hmacsha256", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	o := mqtt.NewClientOptions().AddBroker("tcp://" + n.app.MQTTAddr("tcp").String()).
		SetClientID(clientID).SetUsername(user).SetPassword(pass).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(10 * time.Second).SetProtocolVersion(4)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	d := &simDevice{t: t, pid: pid, dn: dn, c: c}
	for _, f := range []string{
		"$thing/down/+/" + pid + "/" + dn,
		"$rrpc/rxd/" + pid + "/" + dn + "/+",
		"$broadcast/rxd/" + pid + "/" + dn,
	} {
		if tok := c.Subscribe(f, 0, d.handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", f, tok.Error())
		}
	}
	return d
}

func (d *simDevice) handle(c mqtt.Client, m mqtt.Message) {
	d.mu.Lock()
	d.received = append(d.received, m.Topic()+" "+string(m.Payload()))
	d.mu.Unlock()
	if strings.HasPrefix(m.Topic(), "$rrpc/rxd/") {
		id := m.Topic()[strings.LastIndex(m.Topic(), "/")+1:]
		c.Publish("$rrpc/txd/"+d.pid+"/"+d.dn+"/"+id, 0, false, "pong:"+string(m.Payload()))
		return
	}
	var msg struct {
		Method      string `json:"method"`
		ClientToken string `json:"clientToken"`
	}
	if json.Unmarshal(m.Payload(), &msg) != nil {
		return
	}
	switch msg.Method {
	case "control":
		d.publish("property", fmt.Sprintf(`{"method":"control_reply","clientToken":%q,"code":0,"status":"ok"}`, msg.ClientToken))
	case "action":
		d.publish("action", fmt.Sprintf(`{"method":"action_reply","clientToken":%q,"code":0,"status":"done","response":{"err_code":0}}`, msg.ClientToken))
	}
}

// publish sends payload on $thing/up/{kind}.
func (d *simDevice) publish(kind, payload string) {
	d.c.Publish("$thing/up/"+kind+"/"+d.pid+"/"+d.dn, 0, false, payload)
}

// await waits for a downlink whose "topic payload" line contains all of want.
func (d *simDevice) await(want ...string) string {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, l := range d.received {
			if containsAll(l, want) {
				d.mu.Unlock()
				return l
			}
		}
		d.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	d.t.Fatalf("no downlink with %q; got %q", want, d.received)
	return ""
}

func containsAll(s string, subs []string) bool {
	for _, w := range subs {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// isJSONObject reports whether s is a JSON object.
func isJSONObject(s string) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil && m != nil && bytes.HasPrefix(bytes.TrimSpace([]byte(s)), []byte("{"))
}
