package sqlite_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/thingo-iot/thingo/internal/registry"
)

// FuzzListDevicesNameContains feeds API-supplied search text into the LIKE
// pattern: it must match exactly the names containing it, ignoring case, with
// LIKE's wildcards taken literally.
func FuzzListDevicesNameContains(f *testing.F) {
	ctx := context.Background()
	s := openTemp(f)
	if err := s.CreateProject(ctx, registry.Project{ID: "P1"}); err != nil {
		f.Fatal(err)
	}
	if err := s.CreateProduct(ctx, registry.Product{ID: "PRODUCT01", ProjectID: "P1"}); err != nil {
		f.Fatal(err)
	}
	names := []string{"lamp1", "Lamp_2", "fan:3", "a%b", `a\b`, "aXb", "dev-ABC", "x'y"}
	for _, n := range names {
		if err := s.CreateDevice(ctx, registry.Device{ProductID: "PRODUCT01", Name: n}); err != nil {
			f.Fatal(err)
		}
	}
	for _, seed := range []string{"lamp", "_", "%", `\`, "a_b", "A%", "'", "abc", "é", `\%`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, needle string) {
		if needle == "" || !utf8.ValidString(needle) || strings.ContainsRune(needle, 0) {
			t.Skip()
		}
		got, total, err := s.ListDevices(ctx, registry.DeviceFilter{ProductID: "PRODUCT01", NameContains: needle})
		if err != nil {
			t.Fatal(err)
		}
		var want, gotNames []string
		for _, n := range names {
			if strings.Contains(strings.ToLower(n), strings.ToLower(needle)) {
				want = append(want, n)
			}
		}
		for _, d := range got {
			gotNames = append(gotNames, d.Name)
		}
		slices.Sort(want)
		slices.Sort(gotNames)
		if !slices.Equal(gotNames, want) || total != int64(len(want)) {
			t.Errorf("NameContains %q = %v (total %d), want %v", needle, gotNames, total, want)
		}
	})
}
