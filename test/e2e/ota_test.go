package e2e

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// otaDevice is a paho device speaking the $ota protocol.
type otaDevice struct {
	t    *testing.T
	c    mqtt.Client
	d    device
	msgs chan []byte
}

func connectOTA(t *testing.T, s *server, d device) *otaDevice {
	t.Helper()
	od := &otaDevice{t: t, d: d, msgs: make(chan []byte, 16)}
	od.c = mustConnect(t, s.keyOpts(d, "tcp"))
	tok := od.c.Subscribe("$ota/update/"+d.ProductID+"/"+d.Name, 1, func(_ mqtt.Client, m mqtt.Message) {
		od.msgs <- m.Payload()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return od
}

func (o *otaDevice) publish(payload string, qos byte) {
	o.t.Helper()
	tok := o.c.Publish("$ota/report/"+o.d.ProductID+"/"+o.d.Name, qos, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		o.t.Fatalf("publish: %v", tok.Error())
	}
}

// next returns the next $ota/update message of the given type.
func (o *otaDevice) next(typ string) (map[string]any, []byte) {
	o.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case b := <-o.msgs:
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				o.t.Fatalf("bad $ota/update payload %s", b)
			}
			if m["type"] == typ {
				return m, b
			}
		case <-timeout:
			o.t.Fatalf("no %s within 20s", typ)
		}
	}
}

func (o *otaDevice) reportVersion(v string) {
	o.t.Helper()
	o.publish(`{"type": "report_version", "report":{"version":"`+v+`"}}`, 1)
	rsp, _ := o.next("report_version_rsp")
	if rsp["result_code"] != float64(0) || rsp["version"] != v {
		o.t.Fatalf("report_version_rsp = %v", rsp)
	}
}

func (o *otaDevice) progress(state, percent, code string) {
	o.publish(`{"type": "report_progress", "report": {"progress": {"state":"`+state+`", "percent":"`+percent+
		`", "result_code":"`+code+`", "result_msg":"time_out"}, "version": "2.0.0"}}`, 0)
}

// rangeGet fetches url with a Range header the way the SDKs do, reading at
// most max bytes (then cutting the connection).
func rangeGet(t *testing.T, url, rng string, max int64) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, max))
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func TestOTAUpgradeResumeAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")

	fw := make([]byte, 150000)
	_, _ = rand.Read(fw)
	sum := md5.Sum(fw)
	md5hex := hex.EncodeToString(sum[:])

	// Upload through GetCOSURL's signed URL.
	var cos struct{ Url string }
	s.mustCall("GetCOSURL", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "FileSize": len(fw)}, &cos)
	req, _ := http.NewRequest(http.MethodPut, cos.Url, bytes.NewReader(fw))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PUT firmware: %v %v", res, err)
	}
	res.Body.Close()
	err = s.call("UploadFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "Md5sum": strings.Repeat("0", 32), "FileSize": len(fw)}, nil)
	if apiCode(err) != "InvalidParameterValue" {
		t.Fatalf("UploadFirmware with a wrong MD5: %v", err)
	}
	s.mustCall("UploadFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "Md5sum": md5hex, "FileSize": len(fw), "FirmwareName": "fw"}, nil)
	var desc struct{ Md5sum, Version string }
	s.mustCall("DescribeFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0"}, &desc)
	if desc.Md5sum != md5hex {
		t.Fatalf("DescribeFirmware = %+v", desc)
	}

	dev := connectOTA(t, s, d)
	dev.reportVersion("1.0.0")
	var task struct{ TaskId uint64 }
	s.mustCall("BatchUpdateFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "FirmwareOriVersion": "1.0.0"}, &task)
	if task.TaskId == 0 {
		t.Fatal("no TaskId")
	}
	up, raw := dev.next("update_firmware")
	if !bytes.Contains(raw, []byte(`"file_size":150000`)) || up["md5sum"] != md5hex || up["version"] != "2.0.0" {
		t.Fatalf("update_firmware = %s", raw)
	}
	url := up["url"].(string)

	// Download, cut mid-file, resume with Range (the SDK's end is the size).
	dev.progress("downloading", "0", "0")
	res1, part1 := rangeGet(t, url, "bytes=0-150000", 60000)
	if res1.StatusCode != http.StatusPartialContent || res1.Header.Get("Content-Length") != "150000" {
		t.Fatalf("first GET: %d %v", res1.StatusCode, res1.Header)
	}
	dev.progress("downloading", "40", "0")
	res2, part2 := rangeGet(t, url, fmt.Sprintf("bytes=%d-%d", len(part1), len(fw)), int64(len(fw)))
	if res2.StatusCode != http.StatusPartialContent || res2.Header.Get("Content-Range") != "bytes 60000-149999/150000" ||
		res2.Header.Get("Content-Length") != "90000" || len(res2.TransferEncoding) != 0 {
		t.Fatalf("resume GET: %d %v %v", res2.StatusCode, res2.Header, res2.TransferEncoding)
	}
	if got := md5.Sum(append(part1, part2...)); got != sum {
		t.Fatal("resumed download does not match the firmware MD5")
	}
	// A tampered link is refused like an expired one (403, the SDK's -3).
	if code, _, _ := httpGet(url[:len(url)-3] + "AAA"); code != http.StatusForbidden {
		t.Fatalf("tampered link: %d", code)
	}
	waitFor(t, 10*time.Second, func() error {
		var st struct{ Status, Percent int64 }
		s.mustCall("DescribeFirmwareUpdateStatus", map[string]any{"ProductId": pid, "DeviceName": "dev1"}, &st)
		if st.Status != 3 || st.Percent != 40 {
			return fmt.Errorf("status %+v, want downloading 40%%", st)
		}
		return nil
	})

	// The server restarts mid-task; the device reconnects still on 1.0.0
	// and gets update_firmware again (resume), with a link of the new node.
	dev.c.Disconnect(50)
	s.stop()
	s = startServer(t, dir)
	dev = connectOTA(t, s, d)
	dev.reportVersion("1.0.0")
	up, _ = dev.next("update_firmware")
	res3, all := rangeGet(t, up["url"].(string), "bytes=0-150000", int64(len(fw)))
	if res3.StatusCode != http.StatusPartialContent || md5.Sum(all) != sum {
		t.Fatalf("download after restart: %d, %d bytes", res3.StatusCode, len(all))
	}
	dev.progress("downloading", "100", "0")
	dev.progress("burning", "100", "0")
	dev.publish(`{"type": "report_progress", "report":{"progress":{"state":"done", "result_code":"0", "result_msg":""}, "version":"2.0.0"}}`, 1)

	waitFor(t, 15*time.Second, func() error {
		var td struct {
			Total   uint64
			Devices []struct {
				DeviceName string
				Status     uint64
				DstVersion string
			}
		}
		s.mustCall("DescribeFirmwareTaskDevices", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0"}, &td)
		if td.Total != 1 || td.Devices[0].Status != 6 {
			return fmt.Errorf("task devices %+v", td)
		}
		var tk struct{ Status int64 }
		s.mustCall("DescribeFirmwareTask", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "TaskId": task.TaskId}, &tk)
		if tk.Status != 2 {
			return fmt.Errorf("task status %d, want 2 (done)", tk.Status)
		}
		return nil
	})
	var fws struct{ Firmwares []struct{ Version string } }
	s.mustCall("DescribeDeviceFirmwares", map[string]any{"ProductId": pid, "DeviceName": "dev1"}, &fws)
	if len(fws.Firmwares) != 1 || fws.Firmwares[0].Version != "2.0.0" {
		t.Fatalf("DescribeDeviceFirmwares = %+v", fws)
	}
}

func TestOTAFailureAndCancel(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	fw := []byte("firmware image")
	sum := md5.Sum(fw)
	var cos struct{ Url string }
	s.mustCall("GetCOSURL", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0"}, &cos)
	req, _ := http.NewRequest(http.MethodPut, cos.Url, bytes.NewReader(fw))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PUT firmware: %v %v", res, err)
	}
	res.Body.Close()
	s.mustCall("UploadFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "Md5sum": hex.EncodeToString(sum[:]), "FileSize": len(fw)}, nil)
	// A recorded version cannot be uploaded again, nor its file replaced.
	if err := s.call("GetCOSURL", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0"}, nil); apiCode(err) != "InvalidParameterValue.FirmwareAlreadyExist" {
		t.Fatalf("GetCOSURL of a recorded version: %v", err)
	}
	req, _ = http.NewRequest(http.MethodPut, cos.Url, strings.NewReader("replaced"))
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}

	dev := connectOTA(t, s, d)
	dev.reportVersion("1.0.0")
	var task struct{ TaskId uint64 }
	s.mustCall("BatchUpdateFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "DeviceNames": []string{"dev1"}, "MaxRetryNum": 0}, &task)
	up, _ := dev.next("update_firmware")
	if _, body, _ := httpGet(up["url"].(string)); body != string(fw) {
		t.Fatalf("served firmware %q, want %q", body, fw)
	}
	err = s.call("BatchUpdateFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "DeviceNames": []string{"dev1"}}, nil)
	if apiCode(err) != "FailedOperation.DeviceIsUpdating" {
		t.Fatalf("second task: %v", err)
	}
	dev.progress("downloading", "10", "0")
	dev.progress("fail", "10", "-4")
	waitFor(t, 10*time.Second, func() error {
		var td struct {
			Devices []struct {
				Status  uint64
				Retcode int64
				ErrMsg  string
			}
		}
		s.mustCall("DescribeFirmwareTaskDevices", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0",
			"Filters": []map[string]string{{"Key": "TaskId", "Value": fmt.Sprint(task.TaskId)}}}, &td)
		if len(td.Devices) != 1 || td.Devices[0].Status != 5 || td.Devices[0].Retcode != -4 {
			return fmt.Errorf("devices %+v, want failed with -4", td.Devices)
		}
		return nil
	})

	// A new task, canceled through UpdateOtaTaskStatus.
	s.mustCall("BatchUpdateFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "DeviceNames": []string{"dev1"}, "DelayTime": 3600}, &task)
	s.mustCall("UpdateOtaTaskStatus", map[string]any{"ProductId": pid, "TaskId": task.TaskId, "Status": 3}, nil)
	var st struct{ Status int64 }
	s.mustCall("DescribeFirmwareUpdateStatus", map[string]any{"ProductId": pid, "DeviceName": "dev1"}, &st)
	if st.Status != 9 {
		t.Fatalf("canceled device status = %d", st.Status)
	}
	err = s.call("DescribeFirmwareTask", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "TaskId": 999}, nil)
	if apiCode(err) != "ResourceNotFound.FirmwareTaskNotExist" {
		t.Fatalf("missing task: %v", err)
	}
}

func TestOTAStagedRolloutPauses(t *testing.T) {
	s := startServer(t, t.TempDir())
	pid := s.newProduct("2")
	fw := []byte("another firmware image")
	sum := md5.Sum(fw)
	var cos struct{ Url string }
	s.mustCall("GetCOSURL", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0"}, &cos)
	req, _ := http.NewRequest(http.MethodPut, cos.Url, bytes.NewReader(fw))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PUT firmware: %v %v", res, err)
	}
	res.Body.Close()
	s.mustCall("UploadFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "Md5sum": hex.EncodeToString(sum[:]), "FileSize": len(fw)}, nil)

	var devs []*otaDevice
	for _, n := range []string{"dev1", "dev2", "dev3"} {
		d := connectOTA(t, s, s.newDevice(pid, n))
		d.reportVersion("1.0.0")
		devs = append(devs, d)
	}
	var task struct{ TaskId uint64 }
	s.mustCall("BatchUpdateFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "FirmwareOriVersion": "1.0.0",
		"MaxRetryNum": 0, "RolloutBatch": 1, "PauseFailurePercent": 50}, &task)
	devs[0].next("update_firmware") // dev1 is the first batch
	devs[0].progress("fail", "0", "-4")
	taskStatus := func(want int64) func() error {
		return func() error {
			var tk struct{ Status int64 }
			s.mustCall("DescribeFirmwareTask", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "TaskId": task.TaskId}, &tk)
			if tk.Status != want {
				return fmt.Errorf("task status %d, want %d", tk.Status, want)
			}
			return nil
		}
	}
	waitFor(t, 10*time.Second, taskStatus(4)) // paused
	s.mustCall("UpdateOtaTaskStatus", map[string]any{"ProductId": pid, "TaskId": task.TaskId, "Status": 1}, nil)
	devs[1].next("update_firmware")
	devs[2].next("update_firmware")
	for _, d := range devs[1:] {
		d.publish(`{"type": "report_progress", "report":{"progress":{"state":"done", "result_code":"0", "result_msg":""}, "version":"2.0.0"}}`, 1)
	}
	waitFor(t, 10*time.Second, taskStatus(2))
}
