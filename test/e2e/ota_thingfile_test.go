package e2e

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestFileManagementOnThingService runs the §10 methods on
// $thing/up|down/service as the C SDK sends them: replies and pushes come
// on $thing/down/service, and the thing-model handler never answers them.
func TestFileManagementOnThingService(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	c := mustConnect(t, s.keyOpts(d, "tcp"))
	type msg struct{ topic, payload string }
	msgs := make(chan msg, 64)
	thingDown := "$thing/down/service/" + pid + "/dev1"
	resDown := "$resource/down/service/" + pid + "/dev1"
	for _, topic := range []string{thingDown, resDown} {
		tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { msgs <- msg{m.Topic(), string(m.Payload())} })
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
	}
	publish := func(payload string) {
		t.Helper()
		tok := c.Publish("$thing/up/service/"+pid+"/dev1", 1, false, payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	var seen []msg
	next := func(method string) map[string]any {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case m := <-msgs:
				seen = append(seen, m)
				var v map[string]any
				if err := json.Unmarshal([]byte(m.payload), &v); err != nil {
					t.Fatalf("bad payload %s", m.payload)
				}
				if v["method"] == method {
					if m.topic != thingDown {
						t.Fatalf("%s on %s, want %s", method, m.topic, thingDown)
					}
					return v
				}
			case <-timeout:
				t.Fatalf("no %s within 20s", method)
			}
		}
	}

	// C SDK spacing; the reply comes on $thing/down/service.
	publish(`{"method": "report_version", "request_id": "r1", "report":{"resource_list":[{"resource_name":"old.bin","version":"0.1","resource_type":"FILE"}]}}`)
	if rsp := next("report_version_rsp"); rsp["request_id"] != "r1" || rsp["result_code"] != float64(0) {
		t.Fatalf("report_version_rsp = %v", rsp)
	}

	// A push follows the family the device last used.
	file := make([]byte, 5000)
	_, _ = rand.Read(file)
	sum := md5.Sum(file)
	var up struct{ Url string }
	s.mustCall("GetResourceUploadURL", map[string]any{"ProductId": pid, "ResourceName": "a.bin", "ResourceVersion": "1.0.0"}, &up)
	putFile(t, up.Url, file)
	s.mustCall("PushDeviceResource", map[string]any{"ProductId": pid, "DeviceNames": []string{"dev1"}, "ResourceName": "a.bin",
		"ResourceVersion": "1.0.0"}, nil)
	m := next("update_resource")
	if m["md5sum"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("update_resource = %v", m)
	}
	res, body := rangeGet(t, m["url"].(string), "", int64(len(file)))
	if res.StatusCode != http.StatusOK || md5.Sum(body) != sum {
		t.Fatalf("download: %d", res.StatusCode)
	}
	publish(`{"method": "report_progress", "report":{"progress":{"resource_name":"a.bin","state":"downloading","percent":"100","result_code":"0","result_msg":""},"version":"1.0.0"}}`)
	publish(`{"method": "report_result", "report":{"progress":{"resource_name":"a.bin","state":"done","result_code":"0","result_msg":"success"},"version":"1.0.0"}}`)
	publish(`{"method": "request_url", "request_id": "u1", "report":{"resource_name":"log.txt","version":"1","resource_type":"FILE"}}`)
	if rsp := next("request_url_resp"); rsp["result_code"] != float64(0) || rsp["resource_token"] == "" {
		t.Fatalf("request_url_resp = %v", rsp)
	}
	waitFor(t, 10*time.Second, func() error {
		var l resourceList
		s.mustCall("DescribeDeviceResources", map[string]any{"ProductId": pid, "DeviceName": "dev1"}, &l)
		if len(l.Resources) != 2 || l.Resources[0].ResourceName != "a.bin" || l.Resources[0].Status != "done" {
			return fmt.Errorf("resources %+v", l.Resources)
		}
		return nil
	})

	// Back on $resource: pushes follow the device there.
	tok := c.Publish("$resource/up/service/"+pid+"/dev1", 1, false, `{"method":"report_version","request_id":"r2","report":{"resource_list":[]}}`)
	tok.WaitTimeout(10 * time.Second)
	s.mustCall("DeleteDeviceResource", map[string]any{"ProductId": pid, "DeviceName": "dev1", "ResourceName": "a.bin"}, nil)
	timeout := time.After(20 * time.Second)
	for found := false; !found; {
		select {
		case m := <-msgs:
			seen = append(seen, m)
			if strings.Contains(m.payload, `"del_resource"`) {
				if m.topic != resDown {
					t.Fatalf("del_resource on %s, want %s", m.topic, resDown)
				}
				found = true
			}
		case <-timeout:
			t.Fatal("no del_resource")
		}
	}
	for _, m := range seen {
		if strings.Contains(m.payload, `_reply"`) || strings.Contains(m.payload, `"code":403`) {
			t.Errorf("thing handler answered a file method: %s %s", m.topic, m.payload)
		}
	}
}
