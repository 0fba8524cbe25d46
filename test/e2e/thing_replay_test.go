package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

const (
	wirePID = "AB12CD34EF"
	wireDN  = "dev001"
)

// wireLine is one `topic payload` line of a transcript.
type wireLine struct {
	topic   string
	payload string
}

func readWire(t *testing.T, name string) []wireLine {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []wireLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		topic, payload, ok := strings.Cut(sc.Text(), " ")
		if ok {
			out = append(out, wireLine{topic, payload})
		}
	}
	return out
}

// inbox collects a device's downlinks.
type inbox struct {
	mu   sync.Mutex
	msgs []wireLine
}

func (b *inbox) handle(_ mqtt.Client, m mqtt.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, wireLine{m.Topic(), string(m.Payload())})
	b.mu.Unlock()
}

// await returns the first message on topic for which match is true.
func (b *inbox) await(t *testing.T, topic string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(t, 10*time.Second, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, m := range b.msgs {
			if m.topic != topic {
				continue
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(m.payload), &v); err != nil {
				return fmt.Errorf("reply %s is not JSON: %v", m.payload, err)
			}
			if match(v) {
				found = v
				b.msgs = slices.Delete(b.msgs, i, i+1)
				return nil
			}
		}
		return fmt.Errorf("no matching message on %s", topic)
	})
	return found
}

// thingDevice creates a product with the C SDK example model and a device,
// connects it and subscribes to its downlink topics.
func thingDevice(t *testing.T, s *server, name string) (device, mqtt.Client, *inbox) {
	t.Helper()
	pid := s.newProduct("2")
	s.defineExampleModel(pid)
	d := s.newDevice(pid, name)
	box := &inbox{}
	c := mustConnect(t, s.keyOpts(d, "tcp"))
	for _, f := range []string{
		"$thing/down/+/" + pid + "/" + name,
		"$sys/operation/result/" + pid + "/" + name,
		"$log/operation/result/" + pid + "/" + name,
	} {
		tok := c.Subscribe(f, 1, box.handle)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", f, tok.Error())
		}
	}
	return d, c, box
}

// replyMethod is the reply the platform sends to a device method ("" none).
var replyMethod = map[string]string{
	"report": "report_reply", "get_status": "get_status_reply", "clear_control": "clear_control_reply",
	"report_info": "report_info_reply", "event_post": "event_reply", "events_post": "events_reply",
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// replay publishes every device line of a transcript for the main device and
// checks each reply against the transcript's: same keys, integer code 0,
// echoed clientToken.
func replay(t *testing.T, s *server, file string) device {
	lines := readWire(t, file)
	d, c, box := thingDevice(t, s, wireDN)
	own := "/" + wirePID + "/" + wireDN
	rewrite := func(topic string) string {
		return strings.TrimSuffix(topic, own) + "/" + d.ProductID + "/" + d.Name
	}
	n := 0
	for i, l := range lines {
		up := strings.HasPrefix(l.topic, "$thing/up/property/") || strings.HasPrefix(l.topic, "$thing/up/event/") ||
			strings.HasPrefix(l.topic, "$thing/up/action/") || strings.HasPrefix(l.topic, "$sys/operation/"+wirePID)
		if !up || !strings.HasSuffix(l.topic, own) || strings.Contains(l.topic, "/result/") {
			continue
		}
		n++
		tok := c.Publish(rewrite(l.topic), 1, false, l.payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish line %d: %v", i+1, tok.Error())
		}
		var req map[string]any
		if err := json.Unmarshal([]byte(l.payload), &req); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if strings.HasPrefix(l.topic, "$sys/") {
			got := box.await(t, "$sys/operation/result/"+d.ProductID+"/"+d.Name, func(map[string]any) bool { return true })
			if want := []string{"ntptime1", "ntptime2", "time", "type"}; !slices.Equal(keysOf(got), want) {
				t.Errorf("line %d: $sys reply keys %v, want %v", i+1, keysOf(got), want)
			}
			continue
		}
		method, _ := req["method"].(string)
		want := replyMethod[method]
		if want == "" {
			continue
		}
		down := strings.Replace(rewrite(l.topic), "/up/", "/down/", 1)
		got := box.await(t, down, func(m map[string]any) bool {
			return m["method"] == want && m["clientToken"] == req["clientToken"]
		})
		if code, ok := got["code"].(float64); !ok || code != 0 {
			t.Errorf("line %d %s: %s code %v status %v, want 0", i+1, method, want, got["code"], got["status"])
		}
		// The transcript's reply (the stand-in's) is what the SDK accepted.
		for _, r := range lines[i+1:] {
			var m map[string]any
			if json.Unmarshal([]byte(r.payload), &m) != nil || m["method"] != want || m["clientToken"] != req["clientToken"] {
				continue
			}
			if !slices.Equal(keysOf(m), keysOf(got)) {
				t.Errorf("line %d: reply keys %v, transcript has %v", i+1, keysOf(got), keysOf(m))
			}
			break
		}
	}
	if n == 0 {
		t.Fatal("no device lines replayed")
	}
	return d
}

func TestThingReplayCSDK(t *testing.T) {
	s := startServer(t, t.TempDir())
	d := replay(t, s, "c-sdk-mqtt.log")

	var data struct{ Data string }
	s.mustCall("DescribeDeviceData", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}, &data)
	var props map[string]struct {
		Value      json.RawMessage
		LastUpdate int64
	}
	if err := json.Unmarshal([]byte(data.Data), &props); err != nil {
		t.Fatalf("Data %q: %v", data.Data, err)
	}
	if string(props["brightness"].Value) != "66" || props["brightness"].LastUpdate == 0 {
		t.Errorf("brightness = %+v, want 66 (last C report)", props["brightness"])
	}
	var ev struct {
		Total        int64
		EventHistory []struct{ EventId, Type, Data string }
	}
	s.mustCall("ListEventHistory", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name, "Size": 100}, &ev)
	if ev.Total != 4 || len(ev.EventHistory) != 4 {
		t.Errorf("events: total %d, %d items, want 4", ev.Total, len(ev.EventHistory))
	}
	var hist struct {
		Listover bool
		Results  []struct{ Time, Value string }
	}
	s.mustCall("DescribeDeviceDataHistory", map[string]any{
		"ProductId": d.ProductID, "DeviceName": d.Name, "FieldName": "brightness",
		"MinTime": time.Now().Add(-time.Hour).UnixMilli(), "MaxTime": time.Now().Add(time.Hour).UnixMilli(), "Limit": 100,
	}, &hist)
	if len(hist.Results) != 11 || !hist.Listover {
		t.Errorf("brightness history: %d results (listover %v), want 11", len(hist.Results), hist.Listover)
	}
}

func TestThingReplayPythonSDK(t *testing.T) {
	s := startServer(t, t.TempDir())
	d := replay(t, s, "py-sdk-mqtt.log")
	var info struct{ Data string }
	s.mustCall("DescribeDeviceData", map[string]any{"ProductId": d.ProductID, "DeviceName": d.Name}, &info)
	if !strings.Contains(info.Data, `"power_switch":{"Value":1`) {
		t.Errorf("Data = %s, want power_switch 1", info.Data)
	}
}
