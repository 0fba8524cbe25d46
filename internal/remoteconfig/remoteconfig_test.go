package remoteconfig

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/protocol"
)

type memStore struct {
	mu sync.Mutex
	m  map[[2]string]Record
}

func (s *memStore) PutRemoteConfig(_ context.Context, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[[2]string{r.ProductID, r.DeviceName}] = r
	return nil
}

func (s *memStore) GetRemoteConfig(_ context.Context, pid, dn string) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[[2]string{pid, dn}]
	if !ok {
		return Record{}, ErrNotFound
	}
	return r, nil
}

func (s *memStore) DeleteRemoteConfig(_ context.Context, pid, dn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[[2]string{pid, dn}]; !ok {
		return ErrNotFound
	}
	delete(s.m, [2]string{pid, dn})
	return nil
}

type devs []string

func (d devs) ListDevices(_ context.Context, f registry.DeviceFilter) ([]registry.Device, int64, error) {
	var out []registry.Device
	for i := f.Offset; i < len(d) && len(out) < f.Limit; i++ {
		out = append(out, registry.Device{ProductID: f.ProductID, Name: d[i]})
	}
	return out, int64(len(d)), nil
}

type sent struct{ dn, topic, payload string }

type recPub struct {
	mu     sync.Mutex
	online map[string]bool
	out    []sent
}

func (p *recPub) Publish(_ context.Context, _, dn, topic string, payload []byte, _ byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.online[dn] {
		return errors.New("offline")
	}
	p.out = append(p.out, sent{dn, topic, string(payload)})
	return nil
}

const pid = "PID0000001"

func newTestService(t *testing.T) (*Service, *recPub) {
	t.Helper()
	pub := &recPub{online: map[string]bool{"a": true, "b": true}}
	s, err := New(Config{Store: &memStore{m: map[[2]string]Record{}}, Devices: devs{"a", "b", "c"}, Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	return s, pub
}

func TestGetReplies(t *testing.T) {
	type level struct {
		dn      string
		enabled bool
		payload string
	}
	tests := []struct {
		name   string
		set    []level
		device string
		want   string
	}{
		{"nothing configured", nil, "a", `{"type":"reply","result":1001}`},
		{"product", []level{{"", true, `{ "x" : 1 }`}}, "a", `{"type":"reply","result":0,"payload":{"x":1}}`},
		{"product disabled", []level{{"", false, `{"x":1}`}}, "a", `{"type":"reply","result":1001}`},
		{"override wins", []level{{"", true, `{"x":1}`}, {"a", true, `{"x":2}`}}, "a", `{"type":"reply","result":0,"payload":{"x":2}}`},
		{"override of another device", []level{{"", true, `{"x":1}`}, {"b", true, `{"x":2}`}}, "a", `{"type":"reply","result":0,"payload":{"x":1}}`},
		{"disabled override", []level{{"", true, `{"x":1}`}, {"a", false, `{"x":2}`}}, "a", `{"type":"reply","result":1001}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, pub := newTestService(t)
			ctx := context.Background()
			for _, l := range tc.set {
				if _, err := s.Set(ctx, pid, l.dn, l.enabled, []byte(l.payload)); err != nil {
					t.Fatal(err)
				}
			}
			s.HandleUplink(ctx, protocol.Topic{Family: protocol.FamilyConfig, Direction: protocol.Up, ProductID: pid, DeviceName: tc.device},
				[]byte(`{"type":"get"}`))
			if len(pub.out) != 1 || pub.out[0].payload != tc.want || pub.out[0].topic != "$config/operation/result/"+pid+"/"+tc.device {
				t.Errorf("sent %+v, want %s", pub.out, tc.want)
			}
		})
	}
}

func TestSetValidates(t *testing.T) {
	s, _ := newTestService(t)
	tests := []struct {
		payload string
		want    error
	}{
		{`{"a":1}`, nil},
		{`[1]`, ErrNotObject},
		{`null`, ErrNotObject},
		{`{`, ErrNotObject},
		{`{"a":"` + string(make([]byte, MaxPayload)) + `"}`, ErrTooLarge},
	}
	for _, tc := range tests {
		if _, err := s.Set(context.Background(), pid, "", true, []byte(tc.payload)); !errors.Is(err, tc.want) {
			t.Errorf("Set(%.20q) = %v, want %v", tc.payload, err, tc.want)
		}
	}
}

func TestPush(t *testing.T) {
	s, pub := newTestService(t)
	ctx := context.Background()
	if _, err := s.Push(ctx, pid, "a"); !errors.Is(err, ErrDisabled) {
		t.Errorf("push without configuration: %v", err)
	}
	if _, err := s.Set(ctx, pid, "", true, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Set(ctx, pid, "b", false, []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	n, err := s.Push(ctx, pid, "")
	if err != nil || n != 1 {
		t.Fatalf("push to product = %d, %v; want 1 (b disabled, c offline)", n, err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(pub.out[0].payload), &m); err != nil || m["type"] != "push" || pub.out[0].dn != "a" {
		t.Errorf("pushed %+v", pub.out)
	}
}

func TestHandleUplinkIgnores(t *testing.T) {
	s, pub := newTestService(t)
	for _, p := range []string{``, `{`, `{"type":"push"}`, `[]`} {
		s.HandleUplink(context.Background(), protocol.Topic{Family: protocol.FamilyConfig, Direction: protocol.Up, ProductID: pid, DeviceName: "a"}, []byte(p))
	}
	if len(pub.out) != 0 {
		t.Errorf("answered %+v", pub.out)
	}
}
