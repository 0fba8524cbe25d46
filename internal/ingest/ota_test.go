package ingest

import (
	"context"
	"testing"

	"github.com/thingo-iot/thingo/internal/devauth"
)

type recordOTA struct{ got []string }

func (r *recordOTA) HandleReport(_ context.Context, pid, dn string, payload []byte) {
	r.got = append(r.got, pid+"/"+dn+" "+string(payload))
}

type recordNext struct{ topics []string }

func (r *recordNext) HandleUplink(_ context.Context, _ devauth.Identity, topic string, _ []byte) {
	r.topics = append(r.topics, topic)
}

func TestWithOTA(t *testing.T) {
	tests := []struct {
		topic   string
		wantOTA bool
	}{
		{"$ota/report/AB12CD34EF/dev001", true},
		{"$ota/update/AB12CD34EF/dev001", false}, // a downlink topic is not a report
		{"$thing/up/property/AB12CD34EF/dev001", false},
		{"AB12CD34EF/dev001/data", false},
	}
	for _, tc := range tests {
		o, n := &recordOTA{}, &recordNext{}
		WithOTA{Next: n, OTA: o}.HandleUplink(context.Background(), devauth.Identity{}, tc.topic, []byte("{}"))
		if got := len(o.got) == 1; got != tc.wantOTA || len(o.got)+len(n.topics) != 1 {
			t.Errorf("%s: ota %v, next %v", tc.topic, o.got, n.topics)
		}
	}
}
