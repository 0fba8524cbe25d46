package ota_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/ota"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/store/sqlite"
)

func TestIsFileMethod(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    bool
	}{
		{`{"method": "report_version", "report":{}}`, true},
		{`{"method":"report_progress"}`, true},
		{`{"method":"report_result"}`, true},
		{`{"method":"request_url"}`, true},
		{`{"method":"report_post_result"}`, true},
		{`{"method":"del_result"}`, true},
		{`{"method":"app_bind_token"}`, false},
		{`{"method":"alert_fence_event_reply"}`, false},
		{`{"type":"report_version"}`, false},
		{`not json`, false},
		{``, false},
	} {
		if got := ota.IsFileMethod([]byte(tc.payload)); got != tc.want {
			t.Errorf("IsFileMethod(%s) = %v, want %v", tc.payload, got, tc.want)
		}
	}
}

// topicPub records the topics of published messages.
type topicPub struct {
	mu     sync.Mutex
	topics []string
}

func (p *topicPub) Publish(_ context.Context, _, _, topic string, _ []byte, _ byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.topics = append(p.topics, topic)
	return nil
}

func (p *topicPub) last() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.topics) == 0 {
		return ""
	}
	return p.topics[len(p.topics)-1]
}

func TestFileFamilyFollowsReportVersion(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	must(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := time.Unix(1_800_000_000, 0).UTC()
	must(t, st.CreateProject(ctx, registry.Project{ID: "P1", Name: "p", CreatedAt: now, UpdatedAt: now}))
	must(t, st.CreateProduct(ctx, registry.Product{ID: "PROD000001", ProjectID: "P1", Name: "x", CreatedAt: now, UpdatedAt: now}))
	must(t, st.CreateDevice(ctx, registry.Device{ProductID: "PROD000001", Name: "dev1", SealedPSK: []byte("x"), EnableState: 1, CreatedAt: now}))
	files := &resFiles{m: map[string][2]string{}}
	files.put(ota.ResourceKey("PROD000001", "a.bin", "1"), "10", md5sum)
	p := &topicPub{}
	svc, err := ota.NewService(ota.Config{Store: st, Resources: st, Registry: reg{st}, Files: files, Links: links{}, Publisher: p,
		Now: func() time.Time { return now }})
	must(t, err)
	const (
		thing    = "$thing/down/service/PROD000001/dev1"
		resource = "$resource/down/service/PROD000001/dev1"
	)
	push := func() {
		t.Helper()
		_, err := svc.PushResource(ctx, ota.PushInput{ProductID: "PROD000001", DeviceNames: []string{"dev1"}, Name: "a.bin", Version: "1"})
		must(t, err)
	}
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"default push", push, resource},
		{"report on $thing", func() {
			svc.HandleThingService(ctx, "PROD000001", "dev1", []byte(`{"method":"report_version","request_id":"1","report":{"resource_list":[]}}`))
		}, thing},
		{"push after $thing", push, thing},
		{"request_url on $resource replies there", func() {
			svc.HandleResource(ctx, "PROD000001", "dev1", []byte(`{"method":"request_url","request_id":"2","report":{"resource_name":"l.txt","version":"1"}}`))
		}, resource},
		{"push still on $thing", push, thing},
		{"report on $resource", func() {
			svc.HandleResource(ctx, "PROD000001", "dev1", []byte(`{"method":"report_version","request_id":"3","report":{"resource_list":[]}}`))
		}, resource},
		{"push after $resource", push, resource},
		{"§9 type message ignored on $thing", func() {
			n := len(p.topics)
			svc.HandleThingService(ctx, "PROD000001", "dev1", []byte(`{"type":"get_download_task"}`))
			if len(p.topics) != n {
				t.Errorf("§9 message on $thing answered")
			}
		}, resource},
	}
	for _, s := range steps {
		s.do()
		if got := p.last(); got != s.want {
			t.Errorf("%s: last topic %s, want %s", s.name, got, s.want)
		}
	}
}

func FuzzIsFileMethod(f *testing.F) {
	f.Add([]byte(`{"method":"report_version"}`))
	f.Add([]byte(`{"method":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) { _ = ota.IsFileMethod(b) })
}
