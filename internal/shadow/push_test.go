package shadow

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
)

func TestPushDelta(t *testing.T) {
	at := time.Unix(1000, 0)
	tests := []struct {
		name     string
		reported map[string]string
		control  string // pending control params; "" for none
		want     []string
	}{
		{"no control", map[string]string{"x": "1"}, "", nil},
		{"control equals reported", map[string]string{"x": "1"}, `{"x":1}`, nil},
		{"control differs", map[string]string{"x": "1", "y": "2"}, `{"x":5,"y":2}`,
			[]string{`{"type":"delta","timestamp":1000,"payload":{"state":{"x":5},"version":1000000}}`}},
		{"device never reported", nil, `{"x":5}`,
			[]string{`{"type":"delta","timestamp":1000,"payload":{"state":{"x":5},"version":1000000}}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := &memData{values: map[string]devicedata.PropertyValue{}}
			for k, v := range tc.reported {
				data.values[k] = devicedata.PropertyValue{ID: k, Value: json.RawMessage(v), UpdatedAt: at}
			}
			if tc.control != "" {
				data.control = &devicedata.Control{Params: json.RawMessage(tc.control), ClientToken: "ctl-1", UpdatedAt: at}
			}
			pub := &capture{}
			s := New(data, pub, nil, func() time.Time { return at })
			s.PushDelta(context.Background(), "PID0000001", "dev")
			if len(pub.out) != len(tc.want) {
				t.Fatalf("sent %q, want %q", pub.out, tc.want)
			}
			for i := range tc.want {
				if pub.out[i] != tc.want[i] {
					t.Errorf("sent[%d] = %s, want %s", i, pub.out[i], tc.want[i])
				}
			}
		})
	}
}
