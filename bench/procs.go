package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// errNotReady is returned when a server does not come up in time.
var errNotReady = errors.New("server not ready")

// server is a child process under test.
type server struct {
	name string
	cmd  *exec.Cmd
	addr string // MQTT host:port
	http string // base URL of the HTTP listener (Thingo only)
	data string // data directory (Thingo only)
	done chan error
}

// pid returns the process id of the server.
func (s *server) pid() int { return s.cmd.Process.Pid }

// rssKiB returns the resident set of the server in KiB.
func (s *server) rssKiB() (int64, error) { return rssKiB(s.pid()) }

// stop ends the server and waits for it.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// buildThingo builds cmd/thingo into dir and returns the binary's path.
func buildThingo(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "thingo")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/thingo")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/thingo (run the bench from the repository root): %w", err)
	}
	return bin, nil
}

// startThingo starts `thingo serve` on the embedded default (SQLite,
// embedded NATS) with its data in dir, plain MQTT and HTTP on loopback and
// the other listeners off. The per-device rate limits are raised so that
// they do not cap the load a few devices generate.
func startThingo(ctx context.Context, bin, dir string, logw *os.File, extra ...string) (*server, error) {
	mp, err := freePort()
	if err != nil {
		return nil, err
	}
	hp, err := freePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "thingo-data")
	s := &server{
		name: "thingo", addr: fmt.Sprintf("127.0.0.1:%d", mp),
		http: fmt.Sprintf("http://127.0.0.1:%d", hp), data: data, done: make(chan error, 1),
	}
	args := append([]string{"serve", "--data", data,
		"--mqtt-addr", s.addr, "--http-addr", strings.TrimPrefix(s.http, "http://"),
		"--mqtts-addr", "off", "--ws-addr", "off", "--wss-addr", "off",
		"--uplink-rate", "1000000", "--downlink-rate", "1000000", "--log-level", "warn"}, extra...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logw, logw
	s.cmd.Env = append(os.Environ(), "THINGO_DATABASE_URL=", "THINGO_NATS_URL=", "THINGO_CONFIG=")
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start thingo: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	if err := waitReady(ctx, s, func() bool {
		resp, err := http.Get(s.http + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && dialOK(s.addr)
	}); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// startMosquitto starts mosquitto with a generated configuration: one
// anonymous listener on a loopback port, no persistence, no logging beyond
// errors and no limit on queued or in-flight messages the clients could hit.
func startMosquitto(ctx context.Context, dir string, logw *os.File) (*server, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("mosquitto not installed (apt-get install -y mosquitto): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"+
		"log_dest stderr\nlog_type error\nmax_queued_messages 100000\nmax_inflight_messages 0\n", port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, fmt.Errorf("mosquitto config: %w", err)
	}
	s := &server{name: "mosquitto", addr: fmt.Sprintf("127.0.0.1:%d", port), done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "-c", conf)
	s.cmd.Stdout, s.cmd.Stderr = logw, logw
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mosquitto: %w", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	if err := waitReady(ctx, s, func() bool { return dialOK(s.addr) }); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls ready until it holds, the process exits or 60 s pass.
func waitReady(ctx context.Context, s *server, ready func() bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("%s exited: %v: %w", s.name, err, errNotReady)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if ready() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: %w after 60s", s.name, errNotReady)
}

func dialOK(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// rssKiB reads VmRSS of pid from /proc.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("rss: %w", err)
	}
	return parseRSS(string(b))
}

// parseRSS extracts VmRSS (KiB) from the text of /proc/<pid>/status.
func parseRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("rss: %w", err)
			}
			return n, nil
		}
	}
	return 0, errors.New("rss: no VmRSS line")
}
