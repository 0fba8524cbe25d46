package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/app"
	"github.com/thingo-iot/thingo/internal/apptest"
	"github.com/thingo-iot/thingo/internal/config"
)

// TestPprofServesOnItsOwnListener starts a node with --pprof-addr and checks
// that the profiler answers there and not on the public HTTP listener.
func TestPprofServesOnItsOwnListener(t *testing.T) {
	n := apptest.Start(t, t.TempDir(), "--pprof-addr", "127.0.0.1:0",
		"--mqtts-addr", "off", "--ws-addr", "off", "--wss-addr", "off")
	ad := n.App.PprofAddr()
	if ad == nil {
		t.Fatal("PprofAddr is nil with --pprof-addr set")
	}
	if ad.String() == n.App.HTTPAddr().String() {
		t.Fatalf("pprof shares the HTTP listener %s", ad)
	}
	pprofURL := "http://" + ad.String()
	tests := []struct {
		name string
		url  string
		want int
		body string // part of the body, if any
	}{
		{"index", pprofURL + "/debug/pprof/", http.StatusOK, "goroutine"},
		{"named profile", pprofURL + "/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile"},
		{"cmdline", pprofURL + "/debug/pprof/cmdline", http.StatusOK, ""},
		{"symbol", pprofURL + "/debug/pprof/symbol", http.StatusOK, "num_symbols"},
		{"nothing else", pprofURL + "/healthz", http.StatusNotFound, ""},
		{"not on the public listener", "http://" + n.App.HTTPAddr().String() + "/debug/pprof/", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == 0 && resp.StatusCode == http.StatusOK && strings.Contains(string(body), "goroutine"):
				t.Errorf("GET %s serves the profiler", tt.url)
			case tt.want != 0 && resp.StatusCode != tt.want:
				t.Errorf("GET %s = %d, want %d: %.200s", tt.url, resp.StatusCode, tt.want, body)
			case !strings.Contains(string(body), tt.body):
				t.Errorf("GET %s: body does not contain %q: %.200s", tt.url, tt.body, body)
			}
		})
	}
	n.Stop()
	if _, err := net.DialTimeout("tcp", ad.String(), time.Second); err == nil {
		t.Error("pprof listener still accepts connections after the node stopped")
	}
}

// TestPprofOffByDefault checks that no profiler listener is opened without
// --pprof-addr.
func TestPprofOffByDefault(t *testing.T) {
	n := apptest.Start(t, t.TempDir(), "--mqtts-addr", "off", "--ws-addr", "off", "--wss-addr", "off")
	if ad := n.App.PprofAddr(); ad != nil {
		t.Errorf("PprofAddr = %s, want nil", ad)
	}
}

// TestPprofListenFailureStopsNode checks that a pprof address in use makes
// Run fail with an error naming the profiler.
func TestPprofListenFailureStopsNode(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg, err := config.Load([]string{
		"--data", t.TempDir(), "--pprof-addr", busy.Addr().String(),
		"--mqtt-addr", "127.0.0.1:0", "--mqtts-addr", "off", "--ws-addr", "off", "--wss-addr", "off",
		"--http-addr", "127.0.0.1:0",
	}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "pprof listener") {
		t.Errorf("Run = %v, want a pprof listener error", err)
	}
	if ctx.Err() != nil {
		t.Error("Run only returned when the context ended")
	}
}
