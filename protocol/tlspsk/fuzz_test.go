package tlspsk

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// recordedHellos loads the ClientHello records captured from OpenSSL in testdata/.
func recordedHellos(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "clienthello-*.bin"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no recorded ClientHellos: %v", err)
	}
	out := make(map[string][]byte)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// TestRecordedClientHellos replays ClientHellos captured from openssl s_client.
func TestRecordedClientHellos(t *testing.T) {
	tests := []struct {
		file      string
		pskOnly   bool
		firstByte byte  // record type of the server's answer
		alert     Alert // when it is an alert
	}{
		{"clienthello-openssl-psk.bin", true, recordTypeHandshake, 0},
		{"clienthello-openssl-default.bin", false, recordTypeAlert, AlertHandshakeFailure},
		{"clienthello-openssl-tls10.bin", true, recordTypeAlert, AlertProtocolVersion},
	}
	hellos := recordedHellos(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in := hellos[tt.file]
			info, err := PeekClientHello(bufio.NewReader(bytes.NewReader(in)))
			if err != nil || info.PSKOnly() != tt.pskOnly {
				t.Fatalf("PeekClientHello = %+v, %v", info, err)
			}
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			go func() { _ = Server(b, testServerConfig()).Handshake(context.Background()) }()
			if _, err := a.Write(in); err != nil {
				t.Fatal(err)
			}
			hdr := make([]byte, 7)
			if _, err := io.ReadFull(a, hdr); err != nil {
				t.Fatal(err)
			}
			if hdr[0] != tt.firstByte || (tt.firstByte == recordTypeAlert && Alert(hdr[6]) != tt.alert) {
				t.Errorf("server answered % x", hdr)
			}
		})
	}
}

func FuzzParseClientHello(f *testing.F) {
	for _, rec := range recordedHellos(f) {
		if len(rec) > 9 {
			f.Add(rec[9:]) // record and handshake headers stripped
		}
	}
	f.Add(rawHello(VersionTLS12, []uint16{TLS_PSK_WITH_AES_128_CBC_SHA}, []byte{0}, appendExt(nil, extServerName, []byte{0, 4, 0, 0, 1, 'x'})))
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, err := parseClientHello(body)
		if err != nil {
			return
		}
		if len(ch.random) != 32 || len(ch.suites) == 0 || len(ch.compression) == 0 {
			t.Fatalf("accepted an invalid hello: %+v", ch)
		}
	})
}

func FuzzPeekClientHello(f *testing.F) {
	for _, rec := range recordedHellos(f) {
		f.Add(rec)
	}
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), PeekBufferSize)
		_, _ = PeekClientHello(br)
		if got, _ := io.ReadAll(br); !bytes.Equal(got, in) {
			t.Fatal("PeekClientHello consumed input")
		}
	})
}

// discardConn is a net.Conn reading from a byte slice and discarding writes.
type discardConn struct {
	r io.Reader
}

func (c *discardConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *discardConn) Close() error                     { return nil }
func (c *discardConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *discardConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *discardConn) SetDeadline(time.Time) error      { return nil }
func (c *discardConn) SetReadDeadline(time.Time) error  { return nil }
func (c *discardConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzReadRecord feeds arbitrary bytes to the record reader of a connection
// whose read direction is protected by the suite selected by the first byte
// (or unprotected), the way the server sees a client after ChangeCipherSpec.
func FuzzReadRecord(f *testing.F) {
	for i, s := range suites {
		p := testProtection(f, &s)
		recs := p.seal(nil, recordTypeApplicationData, []byte("hello"))
		recs = p.seal(recs, recordTypeAlert, []byte{alertLevelWarning, byte(AlertCloseNotify)})
		f.Add(append([]byte{byte(i)}, recs...))
	}
	for _, rec := range recordedHellos(f) {
		f.Add(append([]byte{0xff}, rec...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		c := Server(&discardConn{r: bytes.NewReader(in[1:])}, testServerConfig())
		if i := int(in[0]); i < len(suites) {
			c.in, c.out = testProtection(t, &suites[i]), testProtection(t, &suites[i])
		}
		c.inMu.Lock()
		defer c.inMu.Unlock()
		for range 64 {
			typ, data, err := c.readRecord()
			if err != nil {
				return
			}
			if len(data) > maxPlaintext || typ < recordTypeChangeCipherSpec || typ > recordTypeApplicationData {
				t.Fatalf("accepted record type %d of %d bytes", typ, len(data))
			}
		}
	})
}

// FuzzServerHandshake feeds arbitrary client bytes to a whole server handshake.
func FuzzServerHandshake(f *testing.F) {
	for _, rec := range recordedHellos(f) {
		f.Add(rec)
	}
	hello := marshalClientHello(make([]byte, 32), defaultSuites, testSNI)
	cke := handshakeMsg(typeClientKeyExchange, appendVec16(nil, []byte(testIdentity)))
	f.Add(append(recordOf(recordTypeHandshake, 0x0301, hello), recordOf(recordTypeHandshake, VersionTLS12, cke)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		c := Server(&discardConn{r: bytes.NewReader(in)}, testServerConfig())
		if err := c.Handshake(context.Background()); err == nil {
			t.Fatal("handshake succeeded against a peer without the key")
		}
	})
}
