package bus

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	"github.com/nats-io/nats.go"
)

var kvKeyRe = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func TestEncodeToken(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"ABCDEFGHIJdev_1", "ABCDEFGHIJdev_1"},
		{"gw-1", "gw-1"},
		{"PIDdev:1", "PIDdev=3A1"},
		{"a=b", "a=3Db"},
		{"a.b", "a=2Eb"},
		{"*", "=2A"},
		{">", "=3E"},
		{"a b", "a=20b"},
		{"温", "=E6=B8=A9"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := encodeToken(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("encodeToken(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if !kvKeyRe.MatchString(got) {
				t.Errorf("%q is not a valid KV key", got)
			}
			back, err := decodeToken(got)
			if err != nil || back != tt.in {
				t.Errorf("decodeToken(%q) = %q, %v", got, back, err)
			}
		})
	}
	if _, err := encodeToken(""); !errors.Is(err, ErrInvalidID) {
		t.Errorf("encodeToken(\"\") = %v, want ErrInvalidID", err)
	}
}

func TestDecodeTokenRejects(t *testing.T) {
	for _, in := range []string{"", "a.b", "=", "=3", "=3a", "=41", "=ZZ", "a:b", "a=3Ab=", "=G0"} {
		if got, err := decodeToken(in); !errors.Is(err, ErrInvalidID) {
			t.Errorf("decodeToken(%q) = %q, %v; want ErrInvalidID", in, got, err)
		}
	}
}

func TestDownlinkSubject(t *testing.T) {
	tests := []struct{ pid, dn, want string }{
		{"ABCDEFGHIJ", "dev1", "thingo.down.ABCDEFGHIJ.dev1"},
		{"ABCDEFGHIJ", "gw:sub", "thingo.down.ABCDEFGHIJ.gw=3Asub"},
		{"P", "a.b", "thingo.down.P.a=2Eb"},
	}
	for _, tt := range tests {
		if got := DownlinkSubject(tt.pid, tt.dn); got != tt.want {
			t.Errorf("DownlinkSubject(%q, %q) = %q, want %q", tt.pid, tt.dn, got, tt.want)
		}
	}
}

func FuzzToken(f *testing.F) {
	for _, s := range []string{"PIDdev:1", "a=3Ab", "a.b*>", "温度", "=", " "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc, err := encodeToken(s)
		if s == "" {
			if err == nil {
				t.Fatal("empty id accepted")
			}
			return
		}
		if err != nil {
			t.Fatalf("encodeToken(%q): %v", s, err)
		}
		if !kvKeyRe.MatchString(enc) || bytes.ContainsAny([]byte(enc), ".*> \t\r\n") {
			t.Fatalf("encodeToken(%q) = %q is not a safe token", s, enc)
		}
		dec, err := decodeToken(enc)
		if err != nil || dec != s {
			t.Fatalf("decodeToken(encodeToken(%q)) = %q, %v", s, dec, err)
		}
		// Any token decodeToken accepts must be the canonical encoding.
		if d, err := decodeToken(s); err == nil {
			if e, _ := encodeToken(d); e != s {
				t.Fatalf("decodeToken(%q) = %q, which encodes to %q", s, d, e)
			}
		}
	})
}

// FuzzTopicHeader checks that any MQTT topic survives the NATS header
// encoding used by the offline queue.
func FuzzTopicHeader(f *testing.F) {
	for _, s := range []string{"a/b", " lead", "trail ", "x\r\ny", "温度/+/#", "\x00", "a:b"} {
		f.Add(s, byte(1))
	}
	f.Fuzz(func(t *testing.T, topic string, qos byte) {
		if topic == "" {
			return
		}
		qos %= 3
		m := &nats.Msg{Subject: "s", Header: nats.Header{}}
		setTopicHeader(m.Header, topic)
		m.Header.Set(hdrQoS, string('0'+rune(qos)))
		raw := headerBytes(m.Header)
		h, err := nats.DecodeHeadersMsg(raw)
		if err != nil {
			t.Fatalf("DecodeHeadersMsg(%q): %v", raw, err)
		}
		gotTopic, gotQoS, err := decodeHeaders(h)
		if err != nil || gotTopic != topic || gotQoS != qos {
			t.Fatalf("round trip %q/%d = %q/%d, %v", topic, qos, gotTopic, gotQoS, err)
		}
	})
}

// headerBytes serialises h as NATS does on the wire.
func headerBytes(h nats.Header) []byte {
	var b bytes.Buffer
	b.WriteString("NATS/1.0\r\n")
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.Bytes()
}
