package shadow

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/protocol"
)

// FuzzHandleUplink feeds arbitrary device payloads to the shadow: every
// reply must be JSON on the result topic.
func FuzzHandleUplink(f *testing.F) {
	for _, s := range []string{`{"type":"get","clientToken":"a"}`, `{"type":"update","state":{"reported":{"x":1},"desired":null}}`,
		`{"type":"update","state":{"desired":{"x":[1,{"y":2}]}}}`, `{`, `null`, `{"type":"update","state":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		data := &memData{values: map[string]devicedata.PropertyValue{}}
		pub := &capture{}
		s := New(data, pub, nil, func() time.Time { return time.Unix(1000, 0) })
		s.HandleUplink(context.Background(), protocol.Topic{Family: protocol.FamilyShadow, Direction: protocol.Up,
			ProductID: "PID0000001", DeviceName: "dev"}, payload)
		for _, out := range pub.out {
			if !json.Valid([]byte(out)) || !strings.Contains(out, `"type"`) {
				t.Fatalf("reply %q", out)
			}
		}
	})
}
