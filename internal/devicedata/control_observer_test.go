package devicedata

import (
	"context"
	"testing"
)

func TestControlObserver(t *testing.T) {
	tests := []struct {
		name   string
		params string
		want   int // observer calls
	}{
		{"stored control", `{"a":3}`, 1},
		{"invalid control", `{"a":99}`, 0},
		{"not an object", `[1]`, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			s := start(t, Config{Store: newFakeStore(), ControlObserver: func(_ context.Context, pid, dn string) {
				got = append(got, pid+"/"+dn)
			}})
			ctx := context.Background()
			if _, err := s.DefineModel(ctx, "P", model); err != nil {
				t.Fatal(err)
			}
			_, err := s.Control(ctx, "P", "d", []byte(tc.params))
			if (err == nil) != (tc.want > 0) {
				t.Fatalf("Control = %v", err)
			}
			if len(got) != tc.want || (tc.want > 0 && got[0] != "P/d") {
				t.Errorf("observer calls = %q, want %d for P/d", got, tc.want)
			}
		})
	}
}
