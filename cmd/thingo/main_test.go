package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestUsageErrorsExit2(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"no command", nil, nil},
		{"unknown command", []string{"frobnicate"}, nil},
		{"unknown serve flag", []string{"serve", "--no-such-flag"}, nil},
		{"bad address", []string{"serve", "--mqtt-addr", "not-an-address"}, nil},
		{"bad log level", []string{"serve", "--log-level", "loud"}, nil},
		{"bad env value", []string{"serve"}, map[string]string{"THINGO_MAX_PAYLOAD": "-1"}},
		{"half admin credential", []string{"serve"}, map[string]string{"THINGO_ADMIN_SECRET_ID": "AKIDx"}},
		{"sign without secret", []string{"sign", "--product", "AB12CD34EF", "--device", "dev001"}, nil},
		{"sign bad method", []string{"sign", "--product", "AB12CD34EF", "--device", "dev001", "--secret", "MDEyMzQ1Njc4OWFiY2RlZg==", "--method", "md5"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errOut, func(k string) string { return tc.env[k] })
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errOut.String())
			}
			if errOut.Len() == 0 {
				t.Fatal("no error message on stderr")
			}
		})
	}
}

func TestSignMatchesVerifiedVector(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"sign", "--product", "AB12CD34EF", "--device", "dev001",
		"--secret", "MDEyMzQ1Njc4OWFiY2RlZg==", "--method", "hmacsha1"}, &out, &errOut, func(string) string { return "" })
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"client id: AB12CD34EFdev001", "username:  AB12CD34EFdev001;12010126;", ";hmacsha1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestServeBinary builds thingo, runs `thingo serve` on random loopback
// ports, waits for /healthz, reads the generated credential with
// `thingo admin credentials`, and stops it with SIGTERM (exit 0).
func TestServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "thingo")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--data", data, "--log-format", "json",
		"--mqtt-addr", "127.0.0.1:0", "--mqtts-addr", "127.0.0.1:0", "--ws-addr", "127.0.0.1:0",
		"--wss-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "THINGO_ADMIN_SECRET_ID=", "THINGO_ADMIN_SECRET_KEY=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	httpAddr := make(chan string, 1)
	var logs lockedBuffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Bytes()
			logs.Write(append(line, '\n'))
			var rec map[string]any
			if json.Unmarshal(line, &rec) == nil && rec["msg"] == "thingo serving" {
				httpAddr <- rec["http"].(string)
			}
		}
	}()
	var addr string
	select {
	case addr = <-httpAddr:
	case <-time.After(60 * time.Second):
		t.Fatalf("no \"thingo serving\" log line; logs:\n%s", logs.String())
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	t.Logf("startup to healthy: %v", time.Since(start))

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"admin", "credentials", "--data", data}, &out, &errOut, func(string) string { return "" }); code != 0 {
		t.Fatalf("admin credentials: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "SecretId:  AKID") {
		t.Fatalf("admin credentials output: %s", out.String())
	}
	if strings.Contains(logs.String(), strings.Fields(strings.Split(out.String(), "SecretKey:")[1])[0]) {
		t.Fatal("the admin secret key appears in the logs")
	}
	info, err := os.Stat(filepath.Join(data, "admin-credentials.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("admin-credentials.json: %v mode %v, want 0600", err, info.Mode().Perm())
	}
	out.Reset()
	if code := run(context.Background(), []string{"admin", "ca", "--data", data}, &out, &errOut, func(string) string { return "" }); code != 0 || !strings.Contains(out.String(), "BEGIN CERTIFICATE") {
		t.Fatalf("admin ca: exit %d: %s", code, errOut.String())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM; logs:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of SIGTERM")
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
