package main

import (
	"strings"
	"testing"
)

// FuzzParseRSS feeds /proc/<pid>/status-like text to parseRSS: it must not
// panic, and a success is never negative unless the text says so.
func FuzzParseRSS(f *testing.F) {
	f.Add("VmRSS:\t  1234 kB\n")
	f.Add("Name: x\nVmRSS:\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseRSS(s)
		if err == nil && n < 0 && !strings.Contains(s, "-") {
			t.Errorf("parseRSS(%q) = %d", s, n)
		}
	})
}

// FuzzSpliceSection checks that splicing keeps the new section and the
// text before the markers.
func FuzzSpliceSection(f *testing.F) {
	f.Add("# Title\n" + beginMarker + "\nold\n" + endMarker + "\nafter\n")
	f.Add(endMarker + beginMarker)
	f.Add("")
	sec := beginMarker + "\nnew\n" + endMarker + "\n"
	f.Fuzz(func(t *testing.T, doc string) {
		got := spliceSection(doc, sec)
		if !strings.Contains(got, sec) {
			t.Fatalf("section lost: %q", got)
		}
		if i := strings.Index(doc, beginMarker); i >= 0 && !strings.HasPrefix(got, doc[:i]) {
			t.Fatalf("prefix lost: %q", got)
		}
	})
}
