package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// logVector is a log upload body built by hand in the C SDK's layout for
// device AB12CD34EF/dev001 with psk MDEyMzQ1Njc4OWFiY2RlZg==; its signature
// was computed independently (Python hmac).
var logVector = "fa469b0f50f35628563ca228df43c7e14b8bead6" +
	"P###" + "AB12CD34EF" + "dev001" + strings.Repeat("#", 42) + "1795627951" +
	"ERR|2026-11-25 18:11:15|mqtt_client.c|IOT_MQTT_Construct(120): connect failed: -1\n\f" +
	"INF|2026-11-25 18:11:16|log_upload.c|_post_one_http_to_server(310): Log client POST size: 200\n\f"

var logVectorUpload = LogUpload{
	Signature:  "fa469b0f50f35628563ca228df43c7e14b8bead6",
	Auth:       LogAuthKey,
	ProductID:  "AB12CD34EF",
	DeviceName: "dev001",
	Time:       1795627951,
	Lines: []LogLine{
		{Level: "ERR", Time: "2026-11-25 18:11:15", File: "mqtt_client.c", Func: "IOT_MQTT_Construct", Line: 120, Message: "connect failed: -1"},
		{Level: "INF", Time: "2026-11-25 18:11:16", File: "log_upload.c", Func: "_post_one_http_to_server", Line: 310, Message: "Log client POST size: 200"},
	},
}

func TestParseLogUploadVector(t *testing.T) {
	u, err := ParseLogUpload([]byte(logVector), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(u, logVectorUpload) {
		t.Fatalf("got %+v\nwant %+v", u, logVectorUpload)
	}
	key := LogSignKey("MDEyMzQ1Njc4OWFiY2RlZg==")
	if err := VerifyLogUpload(key, []byte(logVector)); err != nil {
		t.Fatalf("verify: %v", err)
	}
	built, err := BuildLogUpload(key, u)
	if err != nil {
		t.Fatal(err)
	}
	if string(built) != logVector {
		t.Fatalf("built %q\nwant  %q", built, logVector)
	}
}

func TestVerifyLogUpload(t *testing.T) {
	key := LogSignKey("MDEyMzQ1Njc4OWFiY2RlZg==")
	tests := []struct {
		name string
		body string
		key  string
		want error
	}{
		{"ok", logVector, key, nil},
		{"upper-case hex", strings.ToUpper(logVector[:40]) + logVector[40:], key, nil},
		{"wrong key", logVector, "MDEyMzQ1Njc4OWFiY2RlZh==", ErrLogSignature},
		{"tampered line", strings.Replace(logVector, "-1", "-2", 1), key, ErrLogSignature},
		{"truncated", logVector[:100], key, ErrMalformedLog},
		{"bad hex", "zz" + logVector[2:], key, ErrMalformedLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyLogUpload(tt.key, []byte(tt.body)); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseLogUploadErrors(t *testing.T) {
	header := logVector[:LogHeaderLen]
	tests := []struct {
		name   string
		body   string
		maxLen int
		want   error
	}{
		{"too large by default", header + strings.Repeat("x", DefaultMaxLogBody), 0, ErrLogTooLarge},
		{"too large for caller", logVector, 200, ErrLogTooLarge},
		{"short", header[:111], 0, ErrMalformedLog},
		{"bad control", header[:40] + "X###" + header[44:], 0, ErrMalformedLog},
		{"bad control padding", header[:40] + "P#x#" + header[44:], 0, ErrMalformedLog},
		{"bad product", header[:44] + "ab12cd34ef" + header[54:], 0, ErrMalformedLog},
		{"empty device", header[:54] + strings.Repeat("#", 48) + header[102:], 0, ErrMalformedLog},
		{"bad time", header[:102] + "17956279-1", 0, ErrMalformedLog},
		{"bad signature", strings.Repeat("g", 40) + header[40:], 0, ErrMalformedLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseLogUpload([]byte(tt.body), tt.maxLen); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := ParseLogUpload([]byte(logVector), 5000); err != nil {
		t.Fatalf("larger caller limit: %v", err)
	}
}

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		in   string
		want LogLine
	}{
		{"DBG|2026-11-25 18:11:15|a.c|f(1): hi", LogLine{"DBG", "2026-11-25 18:11:15", "a.c", "f", 1, "hi"}},
		{"WRN|t|a.c|f(2): x): y | z", LogLine{"WRN", "t", "a.c", "f", 2, "x): y | z"}},
		{"ERR|t|a.c|f(3)", LogLine{"ERR", "t", "a.c", "f", 3, ""}},
		{"plain text", LogLine{Message: "plain text"}},
		{"ERR|t|a.c|no line: x", LogLine{Message: "ERR|t|a.c|no line: x"}},
		{"ERR|t|a.c|f(x): y", LogLine{Message: "ERR|t|a.c|f(x): y"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ParseLogLine(tt.in); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLogSignKey(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"psk", "MDEyMzQ1Njc4OWFiY2RlZg==", "MDEyMzQ1Njc4OWFiY2RlZg=="},
		{"long", "0123456789abcdefghijklmnopqrstuvwxyz", "0123456789abcdefghijklmn"},
		{"short", "abc", "abc"},
	}
	for _, tt := range tests {
		if got := LogSignKey(tt.in); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	cert := "-----BEGIN CERTIFICATE-----\r\nMIIBszCCAVmgAwIBAgIUZ0123456789abcdef\r\n-----END CERTIFICATE-----\r\n"
	if got := LogSignKeyFromCert(cert); got != "MIIBszCCAVmgAwIBAgIUZ012" {
		t.Errorf("cert key = %q", got)
	}
	if got := LogSignKeyFromCert("no pem"); got != "" {
		t.Errorf("no pem: %q", got)
	}
}

func TestBuildLogUpload(t *testing.T) {
	base := LogUpload{Auth: LogAuthCert, ProductID: "AB12CD34EF", DeviceName: strings.Repeat("d", 48), Time: 0,
		Lines: []LogLine{{Message: "raw line"}}}
	body, err := BuildLogUpload("key", base)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(body, []byte("0000000000raw line\n\f")) || body[40] != 'C' {
		t.Fatalf("body = %q", body)
	}
	if err := VerifyLogUpload("key", body); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*LogUpload)
	}{
		{"bad auth", func(u *LogUpload) { u.Auth = 'X' }},
		{"long name", func(u *LogUpload) { u.DeviceName += "x" }},
		{"bad product", func(u *LogUpload) { u.ProductID = "short" }},
		{"negative time", func(u *LogUpload) { u.Time = -1 }},
		{"huge time", func(u *LogUpload) { u.Time = 10_000_000_000 }},
		{"delimiter in line", func(u *LogUpload) { u.Lines = []LogLine{{Message: "a\n\fb"}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := base
			tt.mutate(&u)
			if _, err := BuildLogUpload("key", u); !errors.Is(err, ErrMalformedLog) {
				t.Fatalf("err = %v, want ErrMalformedLog", err)
			}
		})
	}
}

func FuzzParseLogUpload(f *testing.F) {
	f.Add([]byte(logVector))
	f.Add([]byte(logVector[:LogHeaderLen]))
	f.Add([]byte(logVector[:LogHeaderLen] + "x|y\n\fA|B|C|D(1)"))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := ParseLogUpload(body, 0)
		_ = VerifyLogUpload("MDEyMzQ1Njc4OWFiY2RlZg==", body)
		if err != nil {
			return
		}
		for _, l := range u.Lines {
			if strings.Contains(l.String(), LogDelimiter) {
				t.Fatalf("parsed line contains the delimiter: %q", l)
			}
		}
	})
}
