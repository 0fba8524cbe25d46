package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// answerCalls makes c answer, as device d, every action with an
// action_reply whose status names the device and the action's input, and
// every RRPC request with "pong:<device>:<request>".
func answerCalls(t *testing.T, c mqtt.Client, d device) {
	t.Helper()
	subscribe(t, c, "$thing/down/action/"+d.ProductID+"/"+d.Name, func(cl mqtt.Client, m mqtt.Message) {
		var a struct {
			ClientToken string          `json:"clientToken"`
			Params      json.RawMessage `json:"params"`
		}
		if err := json.Unmarshal(m.Payload(), &a); err != nil {
			return
		}
		reply := fmt.Sprintf(`{"method":"action_reply","clientToken":%q,"code":0,"status":%q,"response":{"err_code":0}}`,
			a.ClientToken, "done by "+d.Name+" "+string(a.Params))
		cl.Publish("$thing/up/action/"+d.ProductID+"/"+d.Name, 0, false, reply)
	})
	subscribe(t, c, "$rrpc/rxd/"+d.ProductID+"/"+d.Name+"/+", func(cl mqtt.Client, m mqtt.Message) {
		id := m.Topic()[strings.LastIndex(m.Topic(), "/")+1:]
		cl.Publish("$rrpc/txd/"+d.ProductID+"/"+d.Name+"/"+id, 0, false, "pong:"+d.Name+":"+string(m.Payload()))
	})
}

// TestClusterSyncCalls: CallDeviceActionSync, CallDeviceRRPCSync and
// PublishRRPCMessage made through one node get the answer of a device
// connected to the other node (the reply is relayed between the nodes), in
// both directions; a device that does not answer still times out.
func TestClusterSyncCalls(t *testing.T) {
	a, b := startCluster(t)
	pid := a.newProduct("2")
	a.defineExampleModel(pid)
	nodes := map[string]*server{"A": a, "B": b}

	for _, tc := range []struct{ device, via string }{{"A", "B"}, {"B", "A"}} {
		t.Run("device on "+tc.device+", call on "+tc.via, func(t *testing.T) {
			on, via := nodes[tc.device], nodes[tc.via]
			d := a.newDevice(pid, "on"+tc.device)
			c := mustConnect(t, on.keyOpts(d, "tcp"))
			answerCalls(t, c, d)
			waitStatus(t, via, d, 1)
			with := func(kv ...any) map[string]any {
				m := map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}
				for i := 0; i < len(kv); i += 2 {
					m[kv[i].(string)] = kv[i+1]
				}
				return m
			}

			// Concurrent calls, so that each must get its own reply.
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				done = map[string]string{} // client token -> status
			)
			for i := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					input := fmt.Sprintf(`{"time":%d,"color":1,"total_time":10}`, i)
					var res struct{ ClientToken, OutputParams, Status string }
					if err := via.call("CallDeviceActionSync", with("ActionId", "light_blink", "InputParams", input), &res); err != nil {
						t.Errorf("CallDeviceActionSync %d: %v", i, err)
						return
					}
					if want := "done by " + d.Name + " " + input; res.Status != want || res.OutputParams != `{"err_code":0}` || res.ClientToken == "" {
						t.Errorf("CallDeviceActionSync %d = %+v, want status %q", i, res, want)
					}
					mu.Lock()
					done[res.ClientToken] = res.Status
					mu.Unlock()

					var sync struct {
						Status, PayloadBase64 string
						MessageId             uint64
					}
					payload := fmt.Sprintf("hi%d", i)
					if err := via.call("CallDeviceRRPCSync", with("Payload", payload), &sync); err != nil {
						t.Errorf("CallDeviceRRPCSync %d: %v", i, err)
						return
					}
					got, _ := base64.StdEncoding.DecodeString(sync.PayloadBase64)
					if want := "pong:" + d.Name + ":" + payload; sync.Status != "Replied" || string(got) != want {
						t.Errorf("CallDeviceRRPCSync %d = %+v (%q), want Replied %q", i, sync, got, want)
					}
				}()
			}
			wg.Wait()
			// The replies were recorded (by the device's node) and read from
			// the other one.
			for token, status := range done {
				waitFor(t, 10*time.Second, func() error {
					var rec struct {
						Replied bool
						Status  string
					}
					if err := via.call("DescribeDeviceCallResult", with("ClientToken", token), &rec); err != nil {
						return err
					}
					if !rec.Replied || rec.Status != status {
						return fmt.Errorf("DescribeDeviceCallResult %s = %+v, want status %q", token, rec, status)
					}
					return nil
				})
			}

			var pub struct {
				MessageId     int64
				PayloadBase64 string
			}
			via.mustCall("PublishRRPCMessage", with("Payload", "ping"), &pub)
			if got, _ := base64.StdEncoding.DecodeString(pub.PayloadBase64); string(got) != "pong:"+d.Name+":ping" || pub.MessageId == 0 {
				t.Errorf("PublishRRPCMessage = %+v (%q)", pub, got)
			}
		})
	}

	t.Run("silent device times out", func(t *testing.T) {
		d := a.newDevice(pid, "silent")
		c := mustConnect(t, a.keyOpts(d, "tcp"))
		got := make(chan struct{}, 1)
		subscribe(t, c, "$thing/down/action/"+d.ProductID+"/"+d.Name, func(mqtt.Client, mqtt.Message) {
			select {
			case got <- struct{}{}:
			default:
			}
		})
		waitStatus(t, b, d, 1)
		start := time.Now()
		err := b.call("CallDeviceActionSync", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name,
			"ActionId": "light_blink", "InputParams": `{"time":3,"color":1,"total_time":10}`}, nil)
		if apiCode(err) != "FailedOperation.Timeout" {
			t.Errorf("CallDeviceActionSync to a silent device: %v, want FailedOperation.Timeout", err)
		}
		select {
		case <-got:
		default:
			t.Error("the silent device did not get the action")
		}
		t.Logf("timed out after %s", time.Since(start).Round(time.Millisecond))
	})
}
