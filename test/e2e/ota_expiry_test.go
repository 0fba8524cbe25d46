package e2e

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestOTALinkExpires gives download links a one-second lifetime: the link
// a device got stops working in the running server (403), the device
// reports -3 and the task records it.
func TestOTALinkExpires(t *testing.T) {
	s := startServer(t, t.TempDir(), "--download-link-ttl", "1s")
	pid := s.newProduct("2")
	d := s.newDevice(pid, "dev1")
	fw := []byte("short-lived firmware image")
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

	dev := connectOTA(t, s, d)
	dev.reportVersion("1.0.0")
	var task struct{ TaskId uint64 }
	s.mustCall("BatchUpdateFirmware", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0", "DeviceNames": []string{"dev1"}, "MaxRetryNum": 0}, &task)
	up, _ := dev.next("update_firmware")
	url := up["url"].(string)

	// The link works at first (unless this machine is slower than its
	// lifetime) and then expires.
	waitFor(t, 30*time.Second, func() error {
		code, _, err := httpGet(url)
		if err != nil {
			return err
		}
		if code != http.StatusForbidden {
			return fmt.Errorf("GET = %d, want 403 once expired", code)
		}
		return nil
	})
	dev.progress("fail", "0", "-3")
	waitFor(t, 10*time.Second, func() error {
		var td struct {
			Devices []struct {
				Status  uint64
				Retcode int64
			}
		}
		s.mustCall("DescribeFirmwareTaskDevices", map[string]any{"ProductID": pid, "FirmwareVersion": "2.0.0",
			"Filters": []map[string]string{{"Key": "TaskId", "Value": fmt.Sprint(task.TaskId)}}}, &td)
		if len(td.Devices) != 1 || td.Devices[0].Status != 5 || td.Devices[0].Retcode != -3 {
			return fmt.Errorf("devices %+v, want failed with -3", td.Devices)
		}
		return nil
	})
}
