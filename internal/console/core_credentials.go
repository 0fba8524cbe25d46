package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
)

// cSDKDeviceInfo is the Tencent C SDK's device_info.json
// (qcloud-iot-explorer-sdk-embedded-c), the format sdk.LoadDeviceInfo reads.
type cSDKDeviceInfo struct {
	AuthMode   string `json:"auth_mode"` // "KEY" or "CERT"
	ProductID  string `json:"productId"`
	DeviceName string `json:"deviceName"`
	Region     string `json:"region"`
	Key        struct {
		DeviceSecret string `json:"deviceSecret"`
	} `json:"key_deviceinfo"`
	Cert struct {
		CertFile string `json:"devCertFile"`
		KeyFile  string `json:"devPrivateKeyFile"`
	} `json:"cert_deviceinfo"`
}

// certFileName and keyFileName are the file names a certificate device's
// credentials are offered under (and referenced by device_info.json).
func certFileName(dn string) string { return dn + "_cert.crt" }
func keyFileName(dn string) string  { return dn + "_private.key" }

// deviceCredentials reads what a credential download needs.
func (s *Server) deviceCredentials(r *http.Request) (productItem, deviceItem, error) {
	pid, dn := r.PathValue("pid"), r.PathValue("dn")
	p, err := s.describeProduct(r.Context(), pid)
	if err != nil {
		return productItem{}, deviceItem{}, err
	}
	d, err := s.describeDevice(r.Context(), pid, dn)
	return p, d, err
}

// attachment sends body as a file download.
func attachment(w http.ResponseWriter, name, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
}

func (s *Server) downloadError(w http.ResponseWriter, err error) {
	http.Error(w, userMessage(err), statusOf(err))
}

// deviceInfoJSON serves the device's device_info.json.
func (s *Server) deviceInfoJSON(w http.ResponseWriter, r *http.Request) {
	p, d, err := s.deviceCredentials(r)
	if err != nil {
		s.downloadError(w, err)
		return
	}
	body, err := buildDeviceInfo(p, d)
	if err != nil {
		s.log.Error("console: device_info.json", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	attachment(w, "device_info.json", "application/json", body)
}

// buildDeviceInfo renders device_info.json for a device of product p.
func buildDeviceInfo(p productItem, d deviceItem) ([]byte, error) {
	info := cSDKDeviceInfo{ProductID: d.ProductId, DeviceName: d.DeviceName, Region: "china"}
	if p.IsCert() {
		info.AuthMode = "CERT"
		info.Cert.CertFile, info.Cert.KeyFile = certFileName(d.DeviceName), keyFileName(d.DeviceName)
	} else {
		info.AuthMode = "KEY"
		info.Key.DeviceSecret = d.DevicePsk
	}
	b, err := json.MarshalIndent(info, "", "    ")
	if err != nil {
		return nil, fmt.Errorf("console: encoding device_info.json: %w", err)
	}
	return append(b, '\n'), nil
}

// credentialsTxt serves a human-readable summary of how the device connects.
func (s *Server) credentialsTxt(w http.ResponseWriter, r *http.Request) {
	p, d, err := s.deviceCredentials(r)
	if err != nil {
		s.downloadError(w, err)
		return
	}
	attachment(w, d.DeviceName+"_credentials.txt", "text/plain; charset=utf-8", credentialsText(p, d, s.cfg.MQTTHost))
}

// credentialsText is the body of credentials.txt.
func credentialsText(p productItem, d deviceItem, mqttHost string) []byte {
	var b bytes.Buffer
	if mqttHost == "" {
		mqttHost = "(not configured: ask the administrator for the MQTT host and port)"
	}
	fmt.Fprintf(&b, "Thingo device credentials: keep this file secret.\n\n")
	fmt.Fprintf(&b, "Product ID:   %s\n", d.ProductId)
	fmt.Fprintf(&b, "Device name:  %s\n", d.DeviceName)
	fmt.Fprintf(&b, "MQTT host:    %s\n", mqttHost)
	fmt.Fprintf(&b, "Client ID:    %s%s\n", d.ProductId, d.DeviceName)
	if p.IsCert() {
		fmt.Fprintf(&b, "Auth type:    certificate (mutual TLS)\n\n")
		fmt.Fprintf(&b, "Certificate:  %s (download it from the console's devices list)\n", certFileName(d.DeviceName))
		fmt.Fprintf(&b, "Private key:  %s (shown only once, when the device was created; Thingo does not keep it)\n", keyFileName(d.DeviceName))
		fmt.Fprintf(&b, "\nConnect with MQTT over TLS, presenting the certificate and its private key.\n")
		return b.Bytes()
	}
	fmt.Fprintf(&b, "Auth type:    key (PSK)\n")
	fmt.Fprintf(&b, "Secret:       %s\n\n", d.DevicePsk)
	fmt.Fprintf(&b, "To print the MQTT client id, username and password (add --expiry SECONDS for a\n")
	fmt.Fprintf(&b, "username that expires):\n")
	fmt.Fprintf(&b, "  thingo sign --product %s --device %s --secret %s\n", d.ProductId, d.DeviceName, d.DevicePsk)
	return b.Bytes()
}

// deviceCert serves a certificate device's certificate (DescribeDevice
// returns it; the private key is only given out at creation).
func (s *Server) deviceCert(w http.ResponseWriter, r *http.Request) {
	_, d, err := s.deviceCredentials(r)
	if err != nil {
		s.downloadError(w, err)
		return
	}
	if d.DeviceCert == "" {
		http.Error(w, "this device has no certificate (its product uses keys)", http.StatusNotFound)
		return
	}
	attachment(w, certFileName(d.DeviceName), "application/x-pem-file", []byte(d.DeviceCert))
}
