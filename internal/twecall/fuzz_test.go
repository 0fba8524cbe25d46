package twecall

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/thingo-iot/thingo/protocol"
)

// FuzzHandleUplink feeds arbitrary device payloads to TWecall: every reply
// must be JSON on the down topic.
func FuzzHandleUplink(f *testing.F) {
	for _, s := range []string{`{"method":"get_wechat_sn_ticket","params":{"ModelId":"m"}}`,
		`{"method":"active_device_voip_license","params":{"pkgType":1}}`, `{"method":"get_voip_device_active_info"}`,
		`{"method":"active_device_voip_license","params":{"pkgType":"x"}}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		st := newMemStore()
		_ = st.PutLicensePool(context.Background(), Pool{PkgType: 1, Total: 1, ValidDays: 1})
		prov, err := NewLocalProvider(st, testKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		pub := &capture{}
		New(prov, pub, nil).HandleUplink(context.Background(), protocol.Topic{Family: protocol.FamilyTWecall,
			Direction: protocol.Up, ProductID: "PID0000001", DeviceName: "dev"}, payload)
		for _, out := range pub.out {
			body := strings.TrimPrefix(out, "$twecall/down/service/PID0000001/dev ")
			if !json.Valid([]byte(body)) {
				t.Fatalf("reply %q", out)
			}
		}
	})
}
