package e2e

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// resDevice is a paho device speaking the $resource protocol.
type resDevice struct {
	t    *testing.T
	c    mqtt.Client
	d    device
	msgs chan []byte
}

func connectResource(t *testing.T, s *server, d device) *resDevice {
	t.Helper()
	rd := &resDevice{t: t, d: d, msgs: make(chan []byte, 16)}
	rd.c = mustConnect(t, s.keyOpts(d, "tcp"))
	tok := rd.c.Subscribe("$resource/down/service/"+d.ProductID+"/"+d.Name, 1, func(_ mqtt.Client, m mqtt.Message) {
		rd.msgs <- m.Payload()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return rd
}

func (r *resDevice) publish(payload string) {
	r.t.Helper()
	tok := r.c.Publish("$resource/up/service/"+r.d.ProductID+"/"+r.d.Name, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		r.t.Fatalf("publish: %v", tok.Error())
	}
}

// next returns the next $resource/down message with the given method.
func (r *resDevice) next(method string) map[string]any {
	r.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case b := <-r.msgs:
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				r.t.Fatalf("bad $resource/down payload %s", b)
			}
			if m["method"] == method {
				return m
			}
		case <-timeout:
			r.t.Fatalf("no %s within 20s", method)
		}
	}
}

// putFile PUTs body to url with its Content-MD5.
func putFile(t *testing.T, url string, body []byte) {
	t.Helper()
	sum := md5.Sum(body)
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %v %v", url, res, err)
	}
	res.Body.Close()
}

// startFakeS3 starts an in-process S3-compatible server with one bucket
// and returns the --blob-url for it.
func startFakeS3(t *testing.T) string {
	t.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket("thingo"); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gofakes3.New(mem, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(hs.Close)
	return "s3://thingo/e2e?endpoint=" + strings.TrimPrefix(hs.URL, "http://") + "&secure=false&path_style=true"
}

type resourceList struct {
	Resources []struct {
		ResourceName, ResourceVersion, Status, Md5sum string
		FileSize, Percent                             int64
	}
}

// TestResourceManagementOnS3 pushes a file to a device, has the device
// upload one and delete the first, with files kept in an S3 bucket.
func TestResourceManagementOnS3(t *testing.T) {
	s := startServer(t, t.TempDir(), "--blob-url", startFakeS3(t))
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	dev := connectResource(t, s, d)

	file := make([]byte, 70000)
	_, _ = rand.Read(file)
	sum := md5.Sum(file)
	md5hex := hex.EncodeToString(sum[:])

	var up struct{ Url string }
	s.mustCall("GetResourceUploadURL", map[string]any{"ProductId": pid, "ResourceName": "tone.wav", "ResourceVersion": "1.0.0"}, &up)
	putFile(t, up.Url, file)
	var pushed resourceList
	s.mustCall("PushDeviceResource", map[string]any{"ProductId": pid, "DeviceNames": []string{"dev1"}, "ResourceName": "tone.wav",
		"ResourceVersion": "1.0.0", "ResourceType": "AUDIO"}, &pushed)
	if len(pushed.Resources) != 1 || pushed.Resources[0].Status != "pushed" {
		t.Fatalf("PushDeviceResource = %+v", pushed)
	}
	if err := s.call("PushDeviceResource", map[string]any{"ProductId": pid, "DeviceNames": []string{"dev1"}, "ResourceName": "none.wav",
		"ResourceVersion": "1.0.0"}, nil); apiCode(err) != "InvalidParameterValue" {
		t.Fatalf("push of a file never uploaded: %v", err)
	}

	m := dev.next("update_resource")
	if m["md5sum"] != md5hex || m["file_size"] != float64(len(file)) || m["resource_name"] != "tone.wav" || m["version"] != "1.0.0" {
		t.Fatalf("update_resource = %v", m)
	}
	// Download in two parts, as after an interruption.
	url := m["url"].(string)
	res1, part1 := rangeGet(t, url, fmt.Sprintf("bytes=0-%d", len(file)), 30000)
	res2, part2 := rangeGet(t, url, fmt.Sprintf("bytes=%d-%d", len(part1), len(file)), int64(len(file)))
	if res1.StatusCode != http.StatusPartialContent || res2.StatusCode != http.StatusPartialContent || !bytes.Equal(append(part1, part2...), file) {
		t.Fatalf("download: %d %d, %d+%d bytes", res1.StatusCode, res2.StatusCode, len(part1), len(part2))
	}
	dev.publish(`{"method":"report_progress","report":{"progress":{"resource_name":"tone.wav","state":"downloading","percent":"50","result_code":"0","result_msg":""},"version":"1.0.0"}}`)
	dev.publish(`{"method":"report_result","report":{"progress":{"resource_name":"tone.wav","state":"done","result_code":"0","result_msg":"success"},"version":"1.0.0"}}`)
	waitFor(t, 10*time.Second, func() error {
		var l resourceList
		s.mustCall("DescribeDeviceResources", map[string]any{"ProductId": pid, "DeviceName": "dev1"}, &l)
		if len(l.Resources) != 1 || l.Resources[0].Status != "done" || l.Resources[0].Md5sum != md5hex {
			return fmt.Errorf("resources %+v", l.Resources)
		}
		return nil
	})
	// An empty report_version recovers the recorded list.
	dev.publish(`{"method":"report_version","request_id":"1","report":{"resource_list":[]}}`)
	rsp := dev.next("report_version_rsp")
	if l, _ := rsp["resource_list"].([]any); len(l) != 1 || rsp["request_id"] != "1" {
		t.Fatalf("report_version_rsp = %v", rsp)
	}

	// The device uploads a file.
	logFile := []byte("device log contents\n")
	dev.publish(`{"method":"request_url","request_id":"u1","report":{"resource_name":"log.txt","version":"1","resource_type":"FILE"}}`)
	rsp = dev.next("request_url_resp")
	token, _ := rsp["resource_token"].(string)
	putURL, _ := rsp["resource_url"].(string)
	if rsp["result_code"] != float64(0) || token == "" || !strings.HasPrefix(putURL, "http://") {
		t.Fatalf("request_url_resp = %v", rsp)
	}
	putFile(t, putURL, logFile)
	dev.publish(`{"method":"report_post_result","report":{"progress":{"resource_token":"` + token + `","state":"done","result_code":"0","result_msg":"success"}}}`)
	var uploads struct {
		Uploads []struct{ Status, DownloadUrl, ResourceName string }
	}
	waitFor(t, 10*time.Second, func() error {
		s.mustCall("DescribeDeviceResourceUploads", map[string]any{"ProductId": pid, "DeviceName": "dev1"}, &uploads)
		if len(uploads.Uploads) != 1 || uploads.Uploads[0].Status != "done" {
			return fmt.Errorf("uploads %+v", uploads.Uploads)
		}
		return nil
	})
	if code, body, err := httpGet(uploads.Uploads[0].DownloadUrl); err != nil || code != 200 || body != string(logFile) {
		t.Fatalf("uploaded file: %d %q %v", code, body, err)
	}

	// Deletion.
	s.mustCall("DeleteDeviceResource", map[string]any{"ProductId": pid, "DeviceName": "dev1", "ResourceName": "tone.wav"}, nil)
	del := dev.next("del_resource")
	if del["resource_name"] != "tone.wav" {
		t.Fatalf("del_resource = %v", del)
	}
	dev.publish(`{"method":"del_result","report":{"progress":{"resource_name":"tone.wav","state":"done","result_code":"0","result_msg":"success"},"version":"1.0.0"}}`)
	waitFor(t, 10*time.Second, func() error {
		var l resourceList
		s.mustCall("DescribeDeviceResources", map[string]any{"ProductId": pid, "DeviceName": "dev1"}, &l)
		if len(l.Resources) != 0 {
			return fmt.Errorf("resources %+v", l.Resources)
		}
		return nil
	})
	if err := s.call("DeleteDeviceResource", map[string]any{"ProductId": pid, "DeviceName": "dev1", "ResourceName": "tone.wav"}, nil); apiCode(err) != "ResourceNotFound" {
		t.Fatalf("delete of a missing resource: %v", err)
	}
}
