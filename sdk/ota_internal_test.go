package sdk

import (
	"testing"
)

func TestParseOTAUpdate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		ok, err bool
		want    OTAUpdate
	}{
		{"update", `{"type":"update_firmware","version":"1.3.0","url":"http://h/t","md5sum":"36eb5951179db14a631463a37a9322a2","file_size":175436}`,
			true, false, OTAUpdate{Version: "1.3.0", URL: "http://h/t", MD5: "36eb5951179db14a631463a37a9322a2", FileSize: 175436}},
		{"version reply", `{"type":"report_version_rsp","result_code":0,"result_msg":"success","version":"0.1"}`, false, false, OTAUpdate{}},
		{"no url", `{"type":"update_firmware","version":"1.3.0","file_size":1}`, false, true, OTAUpdate{}},
		{"string size", `{"type":"update_firmware","version":"1","url":"u","file_size":"1"}`, false, true, OTAUpdate{}},
		{"not json", `{`, false, true, OTAUpdate{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok, err := parseOTAUpdate([]byte(tt.in))
			if ok != tt.ok || (err != nil) != tt.err || u != tt.want {
				t.Fatalf("parseOTAUpdate = %+v, %v, %v", u, ok, err)
			}
		})
	}
}

func FuzzParseOTAUpdate(f *testing.F) {
	f.Add([]byte(`{"type":"update_firmware","version":"1.3.0","url":"http://h/t","md5sum":"36eb5951179db14a631463a37a9322a2","file_size":175436}`))
	f.Add([]byte(`{"type":"report_version_rsp","result_code":0}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, ok, err := parseOTAUpdate(b)
		if ok && (err != nil || u.URL == "" || u.Version == "" || u.FileSize <= 0) {
			t.Fatalf("accepted %q as %+v (%v)", b, u, err)
		}
	})
}
