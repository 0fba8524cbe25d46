package tlspsk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Interop with OpenSSL, a TLS-PSK implementation nobody here wrote.

var opensslNames = map[uint16]string{
	TLS_PSK_WITH_AES_128_CBC_SHA:    "PSK-AES128-CBC-SHA",
	TLS_PSK_WITH_AES_256_CBC_SHA:    "PSK-AES256-CBC-SHA",
	TLS_PSK_WITH_AES_128_GCM_SHA256: "PSK-AES128-GCM-SHA256",
	TLS_PSK_WITH_AES_256_GCM_SHA384: "PSK-AES256-GCM-SHA384",
}

// opensslCmd builds an openssl command; with ems false, OpenSSL is configured
// to refuse the extended master secret (RFC 7627), covering the legacy
// master secret derivation.
func opensslCmd(ctx context.Context, t *testing.T, openssl string, ems bool, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, openssl, args...)
	if !ems {
		conf := filepath.Join(t.TempDir(), "noems.cnf")
		text := "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n" +
			"[ssl_sect]\nsystem_default = sys\n[sys]\nOptions = -ExtendedMasterSecret\n"
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(os.Environ(), "OPENSSL_CONF="+conf)
	}
	return cmd
}

var emsModes = []struct {
	name string
	ems  bool
}{{"ems", true}, {"legacy", false}}

func needOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not found in PATH: skipping the OpenSSL interop test")
	}
	return path
}

// syncBuffer collects a process's output for polling.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOpenSSLClient(t *testing.T) {
	openssl := needOpenSSL(t)
	for id, name := range opensslNames {
		for _, mode := range emsModes {
			t.Run(name+"/"+mode.name, func(t *testing.T) {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				type result struct {
					state ConnectionState
					line  string
					err   error
				}
				done := make(chan result, 1)
				go func() {
					raw, err := ln.Accept()
					if err != nil {
						done <- result{err: err}
						return
					}
					c := Server(raw, testServerConfig())
					defer c.Close()
					if err := c.Handshake(context.Background()); err != nil {
						done <- result{err: err}
						return
					}
					line, err := bufio.NewReader(c).ReadString('\n')
					if err == nil {
						_, err = io.WriteString(c, "pong from thingo\n")
					}
					done <- result{state: c.ConnectionState(), line: line, err: err}
				}()

				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cmd := opensslCmd(ctx, t, openssl, mode.ems, "s_client", "-connect", ln.Addr().String(),
					"-tls1_2", "-cipher", name, "-psk", hex.EncodeToString(testKey),
					"-psk_identity", testIdentity, "-servername", testSNI)
				stdin, err := cmd.StdinPipe()
				if err != nil {
					t.Fatal(err)
				}
				var out syncBuffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if _, err := io.WriteString(stdin, "ping from openssl\n"); err != nil {
					t.Fatal(err)
				}
				res := <-done
				if res.err != nil {
					t.Fatalf("server: %v\nopenssl output:\n%s", res.err, out.String())
				}
				waitFor(t, "openssl to print the reply", func() bool { return strings.Contains(out.String(), "pong from thingo") })
				stdin.Close()
				_ = cmd.Wait()
				if res.line != "ping from openssl\n" {
					t.Errorf("server read %q", res.line)
				}
				want := ConnectionState{HandshakeComplete: true, Identity: testIdentity, IdentityHint: "thingo",
					ServerName: testSNI, CipherSuite: id, ExtendedMasterSecret: mode.ems}
				if res.state != want {
					t.Errorf("state = %+v, want %+v", res.state, want)
				}
			})
		}
	}
}

func TestOpenSSLServer(t *testing.T) {
	openssl := needOpenSSL(t)
	for id, name := range opensslNames {
		for _, mode := range emsModes {
			t.Run(name+"/"+mode.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cmd := opensslCmd(ctx, t, openssl, mode.ems, "s_server", "-accept", "127.0.0.1:0", "-nocert",
					"-tls1_2", "-cipher", name, "-psk", hex.EncodeToString(testKey),
					"-psk_identity", testIdentity, "-naccept", "1", "-rev")
				var out syncBuffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
				var addr string
				waitFor(t, "openssl s_server to listen", func() bool {
					for _, l := range strings.Split(out.String(), "\n") {
						if a, ok := strings.CutPrefix(strings.TrimSpace(l), "ACCEPT "); ok {
							addr = a
							return true
						}
					}
					return false
				})
				raw, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				c := Client(raw, testClientConfig(id))
				defer c.Close()
				if err := c.Handshake(ctx); err != nil {
					t.Fatalf("handshake: %v\nopenssl output:\n%s", err, out.String())
				}
				if st := c.ConnectionState(); st.CipherSuite != id || st.ExtendedMasterSecret != mode.ems {
					t.Errorf("state = %+v", st)
				}
				if _, err := io.WriteString(c, "hello openssl\n"); err != nil {
					t.Fatal(err)
				}
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					t.Fatalf("read: %v\nopenssl output:\n%s", err, out.String())
				}
				if line != "lssnepo olleh\n" {
					t.Errorf("s_server -rev answered %q", line)
				}
			})
		}
	}
}

// TestOpenSSLRenegotiationRefused has s_client renegotiate (its "R" command):
// the server answers no_renegotiation and OpenSSL gives up the connection.
func TestOpenSSLRenegotiationRefused(t *testing.T) {
	openssl := needOpenSSL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", ln.Addr().String(), "-tls1_2",
		"-cipher", "PSK-AES128-CBC-SHA", "-psk", hex.EncodeToString(testKey), "-psk_identity", testIdentity)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.SetDeadline(time.Now().Add(20 * time.Second)) // safety net only
	c := Server(raw, testServerConfig())
	defer c.Close()
	if err := c.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "ping\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := io.WriteString(stdin, "R\n"); err != nil { // s_client: renegotiate
		t.Fatal(err)
	}
	_, err = c.Read(buf)
	var ae *AlertError
	if !errors.As(err, &ae) || !ae.Remote {
		t.Fatalf("Read after renegotiation attempt = %v, want the client's alert", err)
	}
	waitFor(t, "OpenSSL to report the refusal", func() bool { return strings.Contains(out.String(), "no renegotiation") })
}

// TestOpenSSLMaxFragmentLength: s_client negotiates 512-byte records (RFC
// 6066) and rejects any larger record, so a 3000-byte write must be split.
func TestOpenSSLMaxFragmentLength(t *testing.T) {
	openssl := needOpenSSL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", ln.Addr().String(), "-tls1_2", "-maxfraglen", "512",
		"-cipher", "PSK-AES256-CBC-SHA", "-psk", hex.EncodeToString(testKey), "-psk_identity", testIdentity)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := Server(raw, testServerConfig())
	defer c.Close()
	if err := c.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 3000) + "END\n"
	if _, err := io.WriteString(c, big); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "openssl to print the data", func() bool { return strings.Contains(out.String(), big) })
}
