package sqlstore

import (
	"errors"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	file := func(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		versions []int64
		wantErr  error
	}{
		{"sorted by number", fstest.MapFS{
			"0010_ten.sql": file("x"), "0002_two.sql": file("y"), "0001_one.sql": file("z"),
			"README.md": file("ignored"),
		}, []int64{1, 2, 10}, nil},
		{"empty", fstest.MapFS{}, nil, nil},
		{"no underscore", fstest.MapFS{"0001.sql": file("")}, nil, ErrBadMigration},
		{"not a number", fstest.MapFS{"one_x.sql": file("")}, nil, ErrBadMigration},
		{"zero", fstest.MapFS{"0000_x.sql": file("")}, nil, ErrBadMigration},
		{"duplicate", fstest.MapFS{"1_a.sql": file(""), "0001_b.sql": file("")}, nil, ErrBadMigration},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := LoadMigrations(tc.fsys)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			var got []int64
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if len(got) != len(tc.versions) {
				t.Fatalf("versions = %v, want %v", got, tc.versions)
			}
			for i := range got {
				if got[i] != tc.versions[i] {
					t.Fatalf("versions = %v, want %v", got, tc.versions)
				}
			}
		})
	}
}

func TestLikeContains(t *testing.T) {
	tests := []struct{ in, want string }{
		{"lamp", "%lamp%"},
		{"LaMp", "%lamp%"},
		{"a_b", `%a\_b%`},
		{"100%", `%100\%%`},
		{`a\b`, `%a\\b%`},
	}
	for _, tc := range tests {
		if got := likeContains(tc.in); got != tc.want {
			t.Errorf("likeContains(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWhere(t *testing.T) {
	var w where
	if w.String() != "" {
		t.Errorf("empty where = %q", w.String())
	}
	w.add("a = ?", "x")
	w.add("b = ? OR c = ?", 1, 2)
	w.add("d = ''")
	if want := " WHERE a = $1 AND b = $2 OR c = $3 AND d = ''"; w.String() != want {
		t.Errorf("where = %q, want %q", w.String(), want)
	}
	limit, args := w.page(5, 0)
	if limit != " LIMIT $4 OFFSET $5" || len(args) != 5 || args[3] != int64(1<<63-1) || args[4] != int64(5) {
		t.Errorf("page = %q %v", limit, args)
	}
	if len(w.args) != 3 {
		t.Errorf("page changed the condition arguments: %v", w.args)
	}
}
