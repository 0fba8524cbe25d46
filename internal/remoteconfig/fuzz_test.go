package remoteconfig

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/thingo-iot/thingo/protocol"
)

// FuzzHandleUplink feeds arbitrary device payloads to remote configuration:
// every reply must be JSON.
func FuzzHandleUplink(f *testing.F) {
	for _, s := range []string{`{"type":"get"}`, `{"type":"push"}`, `{`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		s, pub := newTestService(t)
		if _, err := s.Set(context.Background(), pid, "", true, []byte(`{"a":1}`)); err != nil {
			t.Fatal(err)
		}
		s.HandleUplink(context.Background(), protocol.Topic{Family: protocol.FamilyConfig, Direction: protocol.Up,
			ProductID: pid, DeviceName: "a"}, payload)
		for _, out := range pub.out {
			if !json.Valid([]byte(out.payload)) {
				t.Fatalf("reply %q", out.payload)
			}
		}
	})
}
