package protocol

import (
	"bufio"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

const testPSK = "MDEyMzQ1Njc4OWFiY2RlZg=="

func TestSignPassword(t *testing.T) {
	tests := []struct {
		name, psk, username, method, want string
		wantErr                           error
	}{
		{
			name:     "verified vector §13.1",
			psk:      testPSK,
			username: "AB12CD34EFdev001;21010406;VhI85;92233720368547758",
			method:   MethodHMACSHA1,
			want:     "afca796520cb47dae8a0a8277b6e8e46e8d14874;hmacsha1",
		},
		{
			name:     "C# example sha1",
			psk:      "a91V4htL41oILv80lgCeLA==",
			username: "F2F43QKKA45629fbfa12f4;21010406;a1B2c;2147483647",
			method:   MethodHMACSHA1,
			want:     "47c1af8e74f51094dbcbffffcdcbf83807d7e361;hmacsha1",
		},
		{
			name:     "C# example sha256",
			psk:      "a91V4htL41oILv80lgCeLA==",
			username: "F2F43QKKA45629fbfa12f4;21010406;a1B2c;2147483647",
			method:   MethodHMACSHA256,
			want:     "0660a727a1932a02c740e9b14259983b0ffcf6849e76a8c9bc0c517756f3635b;hmacsha256",
		},
		{
			name:     "C# example with NUL-terminated connid, sha1",
			psk:      "a91V4htL41oILv80lgCeLA==",
			username: "F2F43QKKA45629fbfa12f4;21010406;a1B2c\x00;2147483647",
			method:   MethodHMACSHA1,
			want:     "f80ef6ce79e2f8bffbba0a3079afd4f910bfe3b7;hmacsha1",
		},
		{
			name:     "C# example with NUL-terminated connid, sha256",
			psk:      "a91V4htL41oILv80lgCeLA==",
			username: "F2F43QKKA45629fbfa12f4;21010406;a1B2c\x00;2147483647",
			method:   MethodHMACSHA256,
			want:     "0d4fda2c887f7901b9578cc091b1c563ed4b02ec507ac9cbe2bb1df4c128dd8f;hmacsha256",
		},
		{name: "bad base64", psk: "not base64!", username: "x", method: MethodHMACSHA1, wantErr: ErrBadSecret},
		{name: "bad method", psk: testPSK, username: "x", method: "md5", wantErr: ErrUnsupportedMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SignPassword(tt.psk, tt.username, tt.method)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("password = %q, want %q", got, tt.want)
			}
			if tt.wantErr != nil {
				return
			}
			m, err := VerifyPassword(tt.psk, tt.username, []byte(got))
			if err != nil || m != tt.method {
				t.Errorf("VerifyPassword = %q, %v", m, err)
			}
			if _, err := ParseUsername(tt.username); err != nil {
				t.Errorf("ParseUsername: %v", err)
			}
		})
	}
}

func TestVerifyPassword(t *testing.T) {
	const user = "AB12CD34EFdev001;21010406;VhI85;92233720368547758"
	const good = "afca796520cb47dae8a0a8277b6e8e46e8d14874;hmacsha1"
	tests := []struct {
		name, psk, username, password string
		wantErr                       error
	}{
		{"good", testPSK, user, good, nil},
		{"upper-case hex", testPSK, user, strings.ToUpper(good[:40]) + ";hmacsha1", nil},
		{"other username", testPSK, "AB12CD34EFdev001;21010406;VhI86;92233720368547758", good, ErrBadSignature},
		{"other secret", "MTIzNDU2Nzg5MGFiY2RlZg==", user, good, ErrBadSignature},
		{"wrong method label", testPSK, user, good[:40] + ";hmacsha256", ErrBadSignature},
		{"unknown method", testPSK, user, good[:40] + ";hmacmd5", ErrUnsupportedMethod},
		{"no method", testPSK, user, good[:40], ErrMalformedPassword},
		{"not hex", testPSK, user, "zz;hmacsha1", ErrMalformedPassword},
		{"empty", testPSK, user, "", ErrMalformedPassword},
		{"truncated token", testPSK, user, good[:38] + ";hmacsha1", ErrBadSignature},
		{"bad base64 secret", "%%%", user, good, ErrBadSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyPassword(tt.psk, tt.username, []byte(tt.password))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && tt.wantErr != ErrBadSecret && CodeOf(err) != ConnackBadUsernameOrPassword {
				t.Errorf("CodeOf = %v, want 0x04", CodeOf(err))
			}
		})
	}
}

func TestParseUsername(t *testing.T) {
	tests := []struct {
		in      string
		want    Username
		wantErr bool
	}{
		{in: "AB12CD34EFdev001;21010406;VhI85;92233720368547758",
			want: Username{"AB12CD34EF", "dev001", "21010406", "VhI85", 92233720368547758}},
		{in: "AB12CD34EFdev001;21010406;dhk63;1795627660671",
			want: Username{"AB12CD34EF", "dev001", "21010406", "dhk63", 1795627660671}},
		{in: "F2F43QKKA45629fbfa12f4;12010126;a;2147483647",
			want: Username{"F2F43QKKA4", "5629fbfa12f4", "12010126", "a", 2147483647}},
		{in: "AB12CD34EFa:b_c-d;0;x\x00;1",
			want: Username{"AB12CD34EF", "a:b_c-d", "0", "x\x00", 1}},
		{in: "AB12CD34EFdev;1;abc;99999999999999999999999999",
			want: Username{"AB12CD34EF", "dev", "1", "abc", math.MaxUint64}},
		{in: "AB12CD34EFdev;1;" + strings.Repeat("c", 32) + ";1",
			want: Username{"AB12CD34EF", "dev", "1", strings.Repeat("c", 32), 1}},
		{in: "AB12CD34EFdev;1;" + strings.Repeat("c", 33) + ";1", wantErr: true},
		{in: "AB12CD34EFdev001;21010406;VhI85", wantErr: true},
		{in: "AB12CD34EFdev001;21010406;VhI85;1;2", wantErr: true},
		{in: "AB12CD34EFdev001;21010406;VhI85;abc", wantErr: true},
		{in: "AB12CD34EFdev001;21010406;VhI85;", wantErr: true},
		{in: "AB12CD34EFdev001;21010406;VhI85;-1", wantErr: true},
		{in: "AB12CD34EFdev001;appid;VhI85;1", wantErr: true},
		{in: "AB12CD34EFdev001;;VhI85;1", wantErr: true},
		{in: "AB12CD34EFdev001;1;;1", wantErr: true},
		{in: "AB12CD34EFdev001;1;a b;1", wantErr: true},
		{in: "ab12cd34efdev001;1;a;1", wantErr: true},
		{in: "AB12CD34EF;1;a;1", wantErr: true},
		{in: "AB12CD34EFdev/1;1;a;1", wantErr: true},
		{in: "AB12CD34EF" + strings.Repeat("d", 49) + ";1;a;1", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseUsername(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrMalformedUsername) || CodeOf(err) != ConnackBadUsernameOrPassword {
					t.Errorf("err = %v, want ErrMalformedUsername (0x04)", err)
				}
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckClientID(t *testing.T) {
	u, err := ParseUsername("F2F43QKKA45629fbfa12f4;21010406;a1B2c;2147483647")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		clientID string
		ok       bool
	}{
		{"F2F43QKKA45629fbfa12f4", true},
		{"F2F43QKKA45629fbfa12f5", false},
		{"F2F43QKKA4", false},
		{"", false},
		{"f2f43qkka45629fbfa12f4", false},
	} {
		err := u.CheckClientID(tt.clientID)
		if (err == nil) != tt.ok {
			t.Errorf("CheckClientID(%q) = %v", tt.clientID, err)
		}
		if err != nil && CodeOf(err) != ConnackIdentifierRejected {
			t.Errorf("CodeOf = %v, want 0x02", CodeOf(err))
		}
	}
}

func TestUsernameExpired(t *testing.T) {
	now := time.Unix(1_795_627_000, 0)
	tests := []struct {
		expiry uint64
		want   bool
	}{
		{uint64(now.Unix()) + 600, false}, // Java now+600
		{uint64(now.Unix()), false},       // boundary: not before now
		{uint64(now.Unix()) - 1, true},    // expired
		{0, true},                         // 1970
		{2147483647, false},               // 0x7fffffff: never
		{92233720368547758, false},        // C SDK truncated LONG_MAX
		{9223372036854775807, false},      // LONG_MAX
		{math.MaxUint64, false},           // beyond uint64
		{1795627215370, false},            // Python: signing time in ms
		{MillisThreshold + 1, false},      // ms
		{MillisThreshold, false},          // seconds, far future
	}
	for _, tt := range tests {
		u := Username{Expiry: tt.expiry}
		if got := u.Expired(now); got != tt.want {
			t.Errorf("Expired(%d) = %v, want %v", tt.expiry, got, tt.want)
		}
	}
}

func TestDeviceCredentials(t *testing.T) {
	for _, method := range []string{MethodHMACSHA1, MethodHMACSHA256} {
		t.Run(method, func(t *testing.T) {
			exp := time.Unix(1_900_000_000, 0)
			cid, user, pass, err := DeviceCredentials("AB12CD34EF", "dev001", testPSK, method, exp)
			if err != nil {
				t.Fatal(err)
			}
			if cid != "AB12CD34EFdev001" {
				t.Errorf("client id %q", cid)
			}
			u, err := ParseUsername(user)
			if err != nil {
				t.Fatal(err)
			}
			if u.SDKAppID != DefaultSDKAppID || len(u.ConnID) != 5 || u.Expiry != 1_900_000_000 || u.ClientID() != cid {
				t.Errorf("username %+v", u)
			}
			if u.String() != user {
				t.Errorf("String() = %q, want %q", u.String(), user)
			}
			if m, err := VerifyPassword(testPSK, user, []byte(pass)); err != nil || m != method {
				t.Errorf("VerifyPassword = %q, %v", m, err)
			}
		})
	}
	_, user, _, err := DeviceCredentials("AB12CD34EF", "dev001", testPSK, MethodHMACSHA1, time.Time{})
	if err != nil || !strings.HasSuffix(user, ";2147483647") {
		t.Errorf("zero expiry: %q, %v", user, err)
	}
	for _, tc := range []struct{ pid, dn, psk, method string }{
		{"ab12cd34ef", "dev", testPSK, MethodHMACSHA1},
		{"AB12CD34EF", "d/v", testPSK, MethodHMACSHA1},
		{"AB12CD34EF", "dev", "!!", MethodHMACSHA1},
		{"AB12CD34EF", "dev", testPSK, "sha1"},
	} {
		if _, _, _, err := DeviceCredentials(tc.pid, tc.dn, tc.psk, tc.method, time.Time{}); err == nil {
			t.Errorf("DeviceCredentials(%+v) succeeded", tc)
		}
	}
}

// TestWireConnects verifies every CONNECT the official SDKs sent.
func TestWireConnects(t *testing.T) {
	for _, file := range []string{"testdata/c-sdk-connect.jsonl", "testdata/py-sdk-connect.jsonl"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			n++
			var c struct {
				Level    int     `json:"level"`
				ClientID string  `json:"client_id"`
				Username string  `json:"username"`
				Password string  `json:"password"`
				TS       float64 `json:"ts"`
			}
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s:%d: %v", file, n, err)
			}
			u, err := ParseUsername(c.Username)
			if err != nil {
				t.Fatalf("%s:%d: %v", file, n, err)
			}
			if u.ClientID() != c.ClientID {
				t.Errorf("%s:%d: client id %q, username names %q", file, n, c.ClientID, u.ClientID())
			}
			if u.Expired(time.Unix(int64(c.TS), 0)) {
				t.Errorf("%s:%d: expired", file, n)
			}
			if _, err := VerifyPassword(testPSK, c.Username, []byte(c.Password)); err != nil {
				t.Errorf("%s:%d: %v", file, n, err)
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("%s: no connects", file)
		}
	}
}

func TestCodeOf(t *testing.T) {
	tests := []struct {
		err  error
		want ConnackCode
	}{
		{nil, ConnackAccepted},
		{ErrBadProtocolVersion, ConnackBadProtocolVersion},
		{ErrIdentifierRejected, ConnackIdentifierRejected},
		{ErrServerUnavailable, ConnackServerUnavailable},
		{ErrBadSignature, ConnackBadUsernameOrPassword},
		{ErrExpired, ConnackBadUsernameOrPassword},
		{ErrNotAuthorized, ConnackNotAuthorized},
		{errors.New("disk on fire"), ConnackServerUnavailable},
	}
	for _, tt := range tests {
		if got := CodeOf(tt.err); got != tt.want {
			t.Errorf("CodeOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func FuzzParseUsername(f *testing.F) {
	f.Add("AB12CD34EFdev001;21010406;VhI85;92233720368547758")
	f.Add("AB12CD34EFdev001;21010406;dhk63;1795627660671")
	f.Add("F2F43QKKA45629fbfa12f4;21010406;a1B2c\x00;2147483647")
	f.Add(";;;")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUsername(s)
		if err != nil {
			return
		}
		if !ValidProductID(u.ProductID) || !ValidDeviceName(u.DeviceName) {
			t.Fatalf("accepted invalid names: %+v", u)
		}
		if !strings.HasPrefix(s, u.ClientID()+";") {
			t.Fatalf("client part of %q is not %q", s, u.ClientID())
		}
		// Re-parsing the built form yields the same username.
		if u2, err := ParseUsername(u.String()); err != nil || u2 != u {
			t.Fatalf("round trip of %q: %+v, %v", s, u2, err)
		}
	})
}
