package protocol

import (
	"errors"
	"testing"
)

func TestSignBind(t *testing.T) {
	tests := []struct {
		name, key, text, method, want string
		err                           error
	}{
		{"sdk vector (PROTOCOL.md 13.7)", "BIND_DEV_PSK", BindText("BIND_PID", "BIND_DEV_NAME", 13647487, 1795626906),
			MethodHMACSHA1, "vMO566D6zPo5kqjb/rYTEt7MNRw=", nil},
		{"unsupported method", "k", "t", "md5", "", ErrUnsupportedMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SignBind(tt.key, tt.text, tt.method)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Fatalf("SignBind = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
	s256, err := SignBind("k", "t", MethodHMACSHA256)
	if err != nil || len(s256) != 44 {
		t.Fatalf("sha256 signature %q, %v", s256, err)
	}
	if got := BindText("AB12CD34EF", "dev", 1, 2); got != "AB12CD34EFdev;1;2" {
		t.Errorf("BindText = %q", got)
	}
	if got := CertBindKey([]byte("")); got != "d41d8cd98f00b204e9800998ecf8427e" {
		t.Errorf("CertBindKey = %q", got)
	}
}
