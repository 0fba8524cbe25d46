package config

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "thingo.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DataDir:         "./thingo-data",
		MQTTAddr:        ":1883",
		MQTTSAddr:       ":8883",
		WSAddr:          ":8081",
		WSSAddr:         ":8444",
		HTTPAddr:        ":8080",
		PublicURL:       "http://localhost:8080",
		LogFormat:       "text",
		LogLevel:        slog.LevelInfo,
		SecretKeyFile:   filepath.Join("thingo-data", "secret.key"),
		UplinkRate:      30,
		DownlinkRate:    50,
		MaxPayload:      16384,
		MaxKeepalive:    900 * time.Second,
		OfflineLimit:    150,
		NATSReplicas:    1,
		OfflineMaxAge:   168 * time.Hour,
		SessionExpiry:   24 * time.Hour,
		OfflinePacing:   500 * time.Millisecond,
		ShutdownTimeout: 10 * time.Second,
		DownloadLinkTTL: 24 * time.Hour,
	}
	if c != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if got := c.SQLitePath(); got != filepath.Join("thingo-data", "thingo.db") {
		t.Errorf("SQLitePath = %q", got)
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, `
mqtt_addr = "127.0.0.1:1000"
http_addr = "127.0.0.1:2000"
ws_addr = "127.0.0.1:3000"
uplink_rate = 12.5
max_payload = 1024
log_level = "warn"
`)
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(Config) bool
	}{
		{"file over default", []string{"--config", file}, nil,
			func(c Config) bool {
				return c.MQTTAddr == "127.0.0.1:1000" && c.UplinkRate == 12.5 && c.MaxPayload == 1024 && c.LogLevel == slog.LevelWarn
			}},
		{"file via env THINGO_CONFIG", nil, map[string]string{"THINGO_CONFIG": file},
			func(c Config) bool { return c.MQTTAddr == "127.0.0.1:1000" && c.ConfigFile == file }},
		{"env over file", []string{"--config", file}, map[string]string{"THINGO_MQTT_ADDR": "127.0.0.1:1001"},
			func(c Config) bool { return c.MQTTAddr == "127.0.0.1:1001" && c.HTTPAddr == "127.0.0.1:2000" }},
		{"flag over env", []string{"--config", file, "--mqtt-addr", "127.0.0.1:1002"}, map[string]string{"THINGO_MQTT_ADDR": "127.0.0.1:1001"},
			func(c Config) bool { return c.MQTTAddr == "127.0.0.1:1002" }},
		{"empty env is unset", []string{"--config", file}, map[string]string{"THINGO_MQTT_ADDR": ""},
			func(c Config) bool { return c.MQTTAddr == "127.0.0.1:1000" }},
		{"public url derived from file http addr", []string{"--config", file}, nil,
			func(c Config) bool { return c.PublicURL == "http://127.0.0.1:2000" }},
		{"single dash flag", []string{"-ws-addr=off"}, nil,
			func(c Config) bool { return c.WSAddr == "" }},
		{"off disables", []string{"--mqtt-addr", "off", "--mqtts-addr=off", "--wss-addr", "off", "--http-addr", "off"}, nil,
			func(c Config) bool {
				return c.MQTTAddr == "" && c.MQTTSAddr == "" && c.WSSAddr == "" && c.HTTPAddr == "" && c.PublicURL == "" && c.WSAddr == ":8081"
			}},
		{"port 0 leaves public url to the caller", []string{"--http-addr", "127.0.0.1:0"}, nil,
			func(c Config) bool { return c.PublicURL == "" }},
		{"explicit public url, trailing slash trimmed", []string{"--public-url", "https://iot.example.com/"}, nil,
			func(c Config) bool { return c.PublicURL == "https://iot.example.com" }},
		{"ipv6 http addr", []string{"--http-addr", "[::1]:8080"}, nil,
			func(c Config) bool { return c.PublicURL == "http://[::1]:8080" }},
		{"data dir moves secret key", []string{"--data", "/var/lib/thingo"}, nil,
			func(c Config) bool { return c.SecretKeyFile == "/var/lib/thingo/secret.key" }},
		{"explicit secret key file", nil, map[string]string{"THINGO_SECRET_KEY_FILE": "/etc/thingo/key"},
			func(c Config) bool { return c.SecretKeyFile == "/etc/thingo/key" }},
		{"postgres", []string{"--database-url", "postgresql://u:p@db/thingo"}, nil,
			func(c Config) bool { return c.DatabaseURL == "postgresql://u:p@db/thingo" }},
		{"nats cluster", nil, map[string]string{"THINGO_NATS_URL": "nats://a:4222, tls://b:4222"},
			func(c Config) bool { return c.NATSURL == "nats://a:4222, tls://b:4222" }},
		{"nats replicas", []string{"--nats-url", "nats://a:4222", "--nats-replicas", "3"}, nil,
			func(c Config) bool { return c.NATSReplicas == 3 }},
		{"pairs", []string{"--tls-cert", "s.pem", "--tls-key", "s-key.pem", "--ca-cert", "ca.pem"}, map[string]string{"THINGO_CA_KEY": "ca-key.pem"},
			func(c Config) bool {
				return c.TLSCert == "s.pem" && c.TLSKey == "s-key.pem" && c.CACert == "ca.pem" && c.CAKey == "ca-key.pem"
			}},
		{"admin credential", nil, map[string]string{"THINGO_ADMIN_SECRET_ID": "AKIDx", "THINGO_ADMIN_SECRET_KEY": "k"},
			func(c Config) bool { return c.AdminSecretID == "AKIDx" && c.AdminSecretKey == "k" }},
		{"durations and json", []string{"--offline-pacing", "1ms", "--log-format", "json", "--max-keepalive", "65535s", "--session-expiry", "1h"}, nil,
			func(c Config) bool {
				return c.OfflinePacing == time.Millisecond && c.LogFormat == "json" && c.MaxKeepalive == 65535*time.Second && c.SessionExpiry == time.Hour
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, env(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string // config file body, if any
		want []string
	}{
		{"unknown flag", []string{"--nope"}, nil, "", []string{"flags", "-nope"}},
		{"missing flag value", []string{"--data"}, nil, "", []string{"flags", "-data"}},
		{"positional argument", []string{"extra"}, nil, "", []string{"flags", `"extra"`}},
		{"empty data", []string{"--data="}, nil, "", []string{"flag --data", "empty"}},
		{"bad addr", []string{"--mqtt-addr", "1883"}, nil, "", []string{"flag --mqtt-addr", "host:port"}},
		{"bad port", nil, map[string]string{"THINGO_WS_ADDR": ":99999"}, "", []string{"env THINGO_WS_ADDR", "port"}},
		{"named port", []string{"--http-addr", ":http"}, nil, "", []string{"flag --http-addr", "port"}},
		{"relative public url", []string{"--public-url", "localhost:8080"}, nil, "", []string{"flag --public-url", "absolute"}},
		{"ftp public url", []string{"--public-url", "ftp://x"}, nil, "", []string{"flag --public-url"}},
		{"mysql database", []string{"--database-url", "mysql://u:secret@x/db"}, nil, "", []string{"flag --database-url", "postgres://"}},
		{"http blob url", []string{"--blob-url", "http://bucket"}, nil, "", []string{"flag --blob-url", "s3://"}},
		{"blob url without bucket", []string{"--blob-url", "s3:///x"}, nil, "", []string{"flag --blob-url"}},
		{"short link ttl", []string{"--download-link-ttl", "500ms"}, nil, "", []string{"flag --download-link-ttl", "500ms"}},
		{"bad nats scheme", []string{"--nats-url", "http://x:4222"}, nil, "", []string{"flag --nats-url", "http"}},
		{"bad nats url", []string{"--nats-url", "localhost"}, nil, "", []string{"flag --nats-url"}},
		{"nats replicas range", []string{"--nats-url", "nats://a:4222", "--nats-replicas", "7"}, nil, "", []string{"flag --nats-replicas", "range"}},
		{"replicas without cluster", []string{"--nats-replicas", "3"}, nil, "", []string{"flag --nats-replicas", "NATS cluster"}},
		{"log format", []string{"--log-format", "xml"}, nil, "", []string{"flag --log-format", "xml"}},
		{"log level", nil, map[string]string{"THINGO_LOG_LEVEL": "trace"}, "", []string{"env THINGO_LOG_LEVEL", "trace"}},
		{"zero rate", []string{"--uplink-rate", "0"}, nil, "", []string{"flag --uplink-rate", "greater than 0"}},
		{"nan rate", []string{"--downlink-rate", "NaN"}, nil, "", []string{"flag --downlink-rate", "number"}},
		{"payload too big", []string{"--max-payload", "268435456"}, nil, "", []string{"flag --max-payload", "range"}},
		{"payload zero", []string{"--max-payload", "0"}, nil, "", []string{"flag --max-payload", "range"}},
		{"payload text", []string{"--max-payload", "16k"}, nil, "", []string{"flag --max-payload", "integer"}},
		{"keepalive too big", []string{"--max-keepalive", "65536s"}, nil, "", []string{"flag --max-keepalive", "range"}},
		{"bad duration", []string{"--session-expiry", "1 day"}, nil, "", []string{"flag --session-expiry", "duration"}},
		{"zero duration", []string{"--shutdown-timeout", "0s"}, nil, "", []string{"flag --shutdown-timeout", "greater than 0"}},
		{"negative pacing", []string{"--offline-pacing", "-1s"}, nil, "", []string{"flag --offline-pacing", "greater than 0"}},
		{"zero pacing", []string{"--offline-pacing", "0s"}, nil, "", []string{"flag --offline-pacing", "greater than 0"}},
		{"offline limit", []string{"--offline-limit", "-5"}, nil, "", []string{"flag --offline-limit"}},
		{"half tls pair", []string{"--tls-cert", "s.pem"}, nil, "", []string{"flag --tls-cert", "--tls-key is not"}},
		{"half ca pair", nil, map[string]string{"THINGO_CA_KEY": "k.pem"}, "", []string{"env THINGO_CA_KEY", "--ca-cert is not"}},
		{"half admin", nil, map[string]string{"THINGO_ADMIN_SECRET_ID": "AKIDx"}, "", []string{"THINGO_ADMIN_SECRET_ID", "both or neither"}},
		{"missing file", []string{"--config", "/nonexistent/thingo.toml"}, nil, "", []string{"/nonexistent/thingo.toml", "read config file"}},
		{"unknown file key", nil, nil, "mqtt_addr = \":1\"\nmqtt_adr = \":2\"\n", []string{"thingo.toml:mqtt_adr", "unknown key"}},
		{"flag name as file key", nil, nil, "mqtt-addr = \":1\"\n", []string{"thingo.toml:mqtt-addr", "unknown key"}},
		{"table in file", nil, nil, "[mqtt]\naddr = \":1\"\n", []string{"thingo.toml:mqtt", "unknown key"}},
		{"admin secret in file", nil, nil, "admin_secret_id = \"AKID\"\n", []string{"thingo.toml:admin_secret_id", "environment only"}},
		{"file type mismatch", nil, nil, "max_payload = \"16384\"\n", []string{"thingo.toml:max_payload", "integer"}},
		{"file float for int", nil, nil, "offline_limit = 1.5\n", []string{"thingo.toml:offline_limit", "integer"}},
		{"file number for string", nil, nil, "mqtt_addr = 1883\n", []string{"thingo.toml:mqtt_addr", "string"}},
		{"file bad value", nil, nil, "log_level = \"loud\"\n", []string{"thingo.toml:log_level", "loud"}},
		{"file half pair", nil, nil, "ca_cert = \"ca.pem\"\n", []string{"thingo.toml:ca_cert", "--ca-key"}},
		{"file syntax", nil, nil, "mqtt_addr = \n", []string{"thingo.toml", "parse"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.env
			if tt.file != "" {
				e = map[string]string{"THINGO_CONFIG": writeFile(t, tt.file)}
			}
			_, err := Load(tt.args, env(e))
			if err == nil {
				t.Fatal("no error")
			}
			var ce *Error
			if !errors.As(err, &ce) || !errors.Is(err, ErrUsage) {
				t.Errorf("error %v (%T) is not a *config.Error matching ErrUsage", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDatabasePasswordNotEchoed(t *testing.T) {
	_, err := Load([]string{"--database-url", "mysql://u:hunter2@x/db"}, env(nil))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v leaks the URL", err)
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		_, err := Load([]string{arg}, env(nil))
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s: err = %v, want flag.ErrHelp", arg, err)
		}
	}
	u := Usage()
	for _, s := range settings {
		if !strings.Contains(u, "--"+s.name+" ") {
			t.Errorf("usage does not list --%s", s.name)
		}
	}
}

// TestDocumented checks that docs/configuration.md lists every flag, env var
// and file key.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"--config", EnvConfig, EnvAdminSecretID, EnvAdminSecretKey}
	for _, s := range settings {
		names = append(names, "`--"+s.name+"`", "`"+envName(s.name)+"`", "`"+fileKey(s.name)+"`")
	}
	for _, n := range names {
		if !strings.Contains(string(doc), n) {
			t.Errorf("docs/configuration.md does not mention %s", n)
		}
	}
}

func FuzzLoadFile(f *testing.F) {
	f.Add("mqtt_addr = \":1883\"\nuplink_rate = 2.5\nmax_payload = 10\n")
	f.Add("[x]\ny = 1\n")
	f.Add("log_level = \"debug\"\noffline_pacing = \"0s\"\n")
	f.Fuzz(func(t *testing.T, body string) {
		vals, err := parseFile("f.toml", []byte(body))
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Errorf("error %v is not a usage error", err)
			}
			return
		}
		var c Config
		for _, s := range settings {
			if v, ok := vals[s.name]; ok {
				_ = s.set(&c, v.raw) // must not panic
			}
		}
	})
}

// TestDocExample loads the example file of docs/configuration.md.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```toml\n")
	body, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no toml example in docs/configuration.md")
	}
	c, err := Load(nil, env(map[string]string{"THINGO_CONFIG": writeFile(t, body)}))
	if err != nil {
		t.Fatal(err)
	}
	if c.WSAddr != "" || c.PublicURL != "https://iot.example.com" || c.LogFormat != "json" || c.TLSKey == "" {
		t.Errorf("unexpected config %+v", c)
	}
}

func TestPprofAddr(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr []string // parts of the error; nil means no error
	}{
		{"default off", nil, nil, "", nil},
		{"explicit off", []string{"--pprof-addr", "off"}, nil, "", nil},
		{"ipv4 loopback", []string{"--pprof-addr", "127.0.0.1:6060"}, nil, "127.0.0.1:6060", nil},
		{"other 127/8 address", []string{"--pprof-addr", "127.0.0.2:6060"}, nil, "127.0.0.2:6060", nil},
		{"ipv6 loopback", []string{"--pprof-addr", "[::1]:6060"}, nil, "[::1]:6060", nil},
		{"localhost", nil, map[string]string{"THINGO_PPROF_ADDR": "localhost:6060"}, "localhost:6060", nil},
		{"random port", []string{"--pprof-addr=127.0.0.1:0"}, nil, "127.0.0.1:0", nil},
		{"all interfaces", []string{"--pprof-addr", ":6060"}, nil, "", []string{"flag --pprof-addr", "loopback"}},
		{"unspecified ipv4", nil, map[string]string{"THINGO_PPROF_ADDR": "0.0.0.0:6060"}, "", []string{"env THINGO_PPROF_ADDR", "loopback"}},
		{"unspecified ipv6", []string{"--pprof-addr", "[::]:6060"}, nil, "", []string{"loopback"}},
		{"lan address", []string{"--pprof-addr", "192.168.1.5:6060"}, nil, "", []string{"loopback"}},
		{"host name", []string{"--pprof-addr", "example.com:6060"}, nil, "", []string{"loopback"}},
		{"no port", []string{"--pprof-addr", "127.0.0.1"}, nil, "", []string{"host:port"}},
		{"empty", []string{"--pprof-addr="}, nil, "", []string{"host:port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, env(tt.env))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.PprofAddr != tt.want {
					t.Errorf("PprofAddr = %q, want %q", c.PprofAddr, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPprofAddrFile(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"THINGO_CONFIG": writeFile(t, "pprof_addr = \"127.0.0.1:6060\"\n")}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PprofAddr != "127.0.0.1:6060" {
		t.Errorf("PprofAddr = %q", c.PprofAddr)
	}
}

func TestBlobSettings(t *testing.T) {
	c, err := Load([]string{"--blob-url", "s3://fw/thingo?endpoint=minio:9000&path_style=true", "--download-link-ttl", "90s"},
		env(map[string]string{"THINGO_S3_ACCESS_KEY": "ak", "THINGO_S3_SECRET_KEY": "sk"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.BlobURL != "s3://fw/thingo?endpoint=minio:9000&path_style=true" || c.DownloadLinkTTL != 90*time.Second || c.S3AccessKey != "ak" || c.S3SecretKey != "sk" {
		t.Errorf("unexpected config %+v", c)
	}
}
