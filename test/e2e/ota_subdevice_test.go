package e2e

import (
	"bytes"
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

// uploadFirmware stores fw as version v of product pid and returns its MD5.
func (s *server) uploadFirmware(pid, v string, fw []byte) string {
	s.t.Helper()
	sum := md5.Sum(fw)
	var cos struct{ Url string }
	s.mustCall("GetCOSURL", map[string]any{"ProductID": pid, "FirmwareVersion": v, "FileSize": len(fw)}, &cos)
	req, _ := http.NewRequest(http.MethodPut, cos.Url, bytes.NewReader(fw))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		s.t.Fatalf("PUT firmware: %v %v", res, err)
	}
	res.Body.Close()
	s.mustCall("UploadFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": v, "Md5sum": hex.EncodeToString(sum[:]),
		"FileSize": len(fw), "FirmwareName": "fw"}, nil)
	return hex.EncodeToString(sum[:])
}

// TestOTASubDeviceThroughGateway upgrades a sub-device whose gateway speaks
// $ota for it on the gateway's own connection.
func TestOTASubDeviceThroughGateway(t *testing.T) {
	s := startServer(t, t.TempDir())
	gwPID := s.newTypedProduct(5)
	subPID := s.newTypedProduct(0)
	s.mustCall("BindProducts", map[string]any{"GatewayProductId": gwPID, "ProductIds": []string{subPID}}, nil)
	gw := s.newDevice(gwPID, "gw1")
	sub := s.newDevice(subPID, "sub1")

	fw := make([]byte, 20000)
	_, _ = rand.Read(fw)
	md5hex := s.uploadFirmware(subPID, "2.0.0", fw)

	c := mustConnect(t, s.keyOpts(gw, "tcp"))
	in := gwInbox{ch: make(chan mqtt.Message, 64)}
	result := "$gateway/operation/result/" + gwPID + "/gw1"
	subscribe := func(topic string) {
		t.Helper()
		tok := c.Subscribe(topic, 1, in.handler)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", topic, tok.Error())
		}
		if got := tok.(*mqtt.SubscribeToken).Result()[topic]; got != 1 {
			t.Fatalf("SUBACK %s = 0x%02x", topic, got)
		}
	}
	publish := func(topic, payload string) {
		t.Helper()
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	subscribe(result)
	publish("$gateway/operation/"+gwPID+"/gw1", string(gwRequest("bind", signedBind(sub, sub.PSK))))
	if got := in.next(t, result, `"bind"`); !strings.Contains(got, `"result":0`) {
		t.Fatalf("bind = %s", got)
	}
	publish("$gateway/operation/"+gwPID+"/gw1", string(gwRequest("online", subRef(sub))))
	if got := in.next(t, result, `"online"`); !strings.Contains(got, `"result":0`) {
		t.Fatalf("online = %s", got)
	}

	update := "$ota/update/" + subPID + "/sub1"
	report := "$ota/report/" + subPID + "/sub1"
	subscribe(update)
	publish(report, `{"type":"report_version","report":{"version":"1.0.0"}}`)
	if got := in.next(t, update, "report_version_rsp"); !strings.Contains(got, `"result_code":0`) {
		t.Fatalf("report_version_rsp = %s", got)
	}

	var task struct{ TaskId uint64 }
	s.mustCall("BatchUpdateFirmware", map[string]any{"ProductID": subPID, "FirmwareVersion": "2.0.0", "DeviceNames": []string{"sub1"}}, &task)
	raw := in.next(t, update, "update_firmware")
	var up struct {
		URL, Md5sum, Version string
		FileSize             int64 `json:"file_size"`
	}
	if err := json.Unmarshal([]byte(raw), &up); err != nil || up.Md5sum != md5hex || up.Version != "2.0.0" || up.FileSize != int64(len(fw)) {
		t.Fatalf("update_firmware = %s (%v)", raw, err)
	}
	res, body := rangeGet(t, up.URL, "", int64(len(fw)))
	if res.StatusCode != http.StatusOK || md5.Sum(body) != md5.Sum(fw) {
		t.Fatalf("download: %d, %d bytes", res.StatusCode, len(body))
	}
	publish(report, `{"type":"report_progress","report":{"progress":{"state":"downloading","percent":"100","result_code":"0","result_msg":""},"version":"2.0.0"}}`)
	publish(report, `{"type":"report_progress","report":{"progress":{"state":"done","result_code":"0","result_msg":""},"version":"2.0.0"}}`)

	waitFor(t, 15*time.Second, func() error {
		var tk struct{ Status int64 }
		s.mustCall("DescribeFirmwareTask", map[string]any{"ProductID": subPID, "FirmwareVersion": "2.0.0", "TaskId": task.TaskId}, &tk)
		if tk.Status != 2 {
			return fmt.Errorf("task status %d, want 2 (done)", tk.Status)
		}
		var st struct{ Status int64 }
		s.mustCall("DescribeFirmwareUpdateStatus", map[string]any{"ProductId": subPID, "DeviceName": "sub1"}, &st)
		if st.Status != 6 {
			return fmt.Errorf("device status %d, want 6", st.Status)
		}
		return nil
	})
}
