package twecall

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/protocol"
)

type memStore struct {
	mu    sync.Mutex
	pools map[int]*Pool
	acts  map[string]Activation
}

func newMemStore() *memStore { return &memStore{pools: map[int]*Pool{}, acts: map[string]Activation{}} }

func (m *memStore) PutLicensePool(_ context.Context, p Pool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.pools[p.PkgType]; ok {
		p.Used = cur.Used
	}
	m.pools[p.PkgType] = &p
	return nil
}

func (m *memStore) ListLicensePools(context.Context, string) ([]Pool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Pool
	for _, p := range m.pools {
		out = append(out, *p)
	}
	return out, nil
}

func (m *memStore) ActivateLicense(_ context.Context, a Activation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pools[a.PkgType]
	if !ok || p.Used >= p.Total {
		return ErrNoLicense
	}
	p.Used++
	m.acts[a.DeviceName] = a
	return nil
}

func (m *memStore) GetActivation(_ context.Context, _, dn string) (Activation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.acts[dn]
	if !ok {
		return Activation{}, ErrNotActivated
	}
	return a, nil
}

type capture struct {
	mu  sync.Mutex
	out []string
}

func (c *capture) Publish(_ context.Context, _, _, topic string, payload []byte, _ byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out = append(c.out, topic+" "+string(payload))
	return nil
}

var testKey = bytes.Repeat([]byte{7}, 32)

func TestService(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name     string
		pools    []Pool
		requests []string
		want     []string // substrings of the replies, one per request
	}{
		{"ticket", nil, []string{`{"method":"get_wechat_sn_ticket","clientToken":"t1","params":{"ModelId":"m1","miniProgramAppId":"wx1"}}`},
			[]string{`{"method":"get_wechat_sn_ticket_reply","clientToken":"t1","code":0,"status":"success","params":{"snTicket":"`}},
		{"activate and info", []Pool{{PkgType: 2, Total: 1, ValidDays: 10}}, []string{
			`{"method":"get_voip_device_active_info","clientToken":"a","params":{"modelId":"m1"}}`,
			`{"method":"active_device_voip_license","clientToken":"b","params":{"pkgType":2,"modelId":"m1","miniProgramAppId":"wx"}}`,
			`{"method":"get_voip_device_active_info","clientToken":"c","params":{"modelId":"m1"}}`,
			`{"method":"active_device_voip_license","clientToken":"d","params":{"pkgType":2,"modelId":"m1"}}`},
			[]string{`"code":1,"status":"twecall: device has no active license"`,
				`"clientToken":"b","code":0,"status":"success","params":{"modelId":"m1","sn":"PID0000001_dev","pkgType":2,"ExpireTime":1700864000}`,
				`"clientToken":"c","code":0,"status":"success","params":{"modelId":"m1","sn":"PID0000001_dev","pkgType":2,"ExpireTime":1700864000}`,
				`"clientToken":"d","code":0`}},
		{"pool empty", []Pool{{PkgType: 1, Total: 0, ValidDays: 10}}, []string{
			`{"method":"active_device_voip_license","params":{"pkgType":1}}`,
			`{"method":"active_device_voip_license","params":{"pkgType":9}}`,
			`{"method":"active_device_voip_license","params":{}}`},
			[]string{`"code":1,"status":"twecall: no license left in the pool"`,
				`"code":1,"status":"twecall: package type must be 0-4"`,
				`"code":1,"status":"twecall: package type must be 0-4"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			for _, p := range tc.pools {
				_ = st.PutLicensePool(context.Background(), p)
			}
			prov, err := NewLocalProvider(st, testKey, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			pub := &capture{}
			s := New(prov, pub, nil)
			for _, r := range tc.requests {
				s.HandleUplink(context.Background(), protocol.Topic{Family: protocol.FamilyTWecall, Direction: protocol.Up,
					ProductID: "PID0000001", DeviceName: "dev"}, []byte(r))
			}
			if len(pub.out) != len(tc.want) {
				t.Fatalf("replies:\n%s", strings.Join(pub.out, "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(pub.out[i], "$twecall/down/service/PID0000001/dev ") || !strings.Contains(pub.out[i], w) {
					t.Errorf("reply %d = %s, want it to contain %s", i, pub.out[i], w)
				}
			}
		})
	}
}

func TestTicket(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := now
	prov, err := NewLocalProvider(newMemStore(), testKey, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	tk, err := prov.SNTicket(context.Background(), Device{"PID0000001", "dev"}, "wx", "m")
	if err != nil {
		t.Fatal(err)
	}
	if sn, err := prov.VerifyTicket(tk); err != nil || sn != "PID0000001_dev" {
		t.Errorf("VerifyTicket = %q, %v", sn, err)
	}
	other, _ := NewLocalProvider(newMemStore(), bytes.Repeat([]byte{8}, 32), func() time.Time { return clock })
	for name, bad := range map[string]string{"other key": mustTicket(t, other), "garbage": "x.y", "no dot": "abc",
		"tampered": "e30" + tk[strings.Index(tk, "."):]} {
		if _, err := prov.VerifyTicket(bad); !errors.Is(err, ErrBadTicket) {
			t.Errorf("%s: %v", name, err)
		}
	}
	clock = now.Add(DefaultTicketTTL + time.Second)
	if _, err := prov.VerifyTicket(tk); !errors.Is(err, ErrBadTicket) {
		t.Errorf("expired ticket: %v", err)
	}
}

func mustTicket(t *testing.T, p *LocalProvider) string {
	t.Helper()
	tk, err := p.SNTicket(context.Background(), Device{"PID0000001", "dev"}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestIgnored(t *testing.T) {
	prov, _ := NewLocalProvider(newMemStore(), testKey, nil)
	pub := &capture{}
	s := New(prov, pub, nil)
	for _, p := range []string{`{`, `{"method":"other"}`, `[]`} {
		s.HandleUplink(context.Background(), protocol.Topic{Family: protocol.FamilyTWecall, Direction: protocol.Up,
			ProductID: "PID0000001", DeviceName: "dev"}, []byte(p))
	}
	if len(pub.out) != 0 {
		t.Errorf("answered %v", pub.out)
	}
}
