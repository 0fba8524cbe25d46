package apikey

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	c, path, created, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !created || path != filepath.Join(dir, FileName) {
		t.Errorf("created = %v, path = %q", created, path)
	}
	if len(c.SecretID) != 36 || !strings.HasPrefix(c.SecretID, "AKID") || len(c.SecretKey) != 32 {
		t.Errorf("credential shape %q / %d chars", c.SecretID, len(c.SecretKey))
	}
	for _, s := range []string{c.SecretID, c.SecretKey} {
		if strings.Trim(s, alphabet) != "" {
			t.Errorf("%q has characters outside the alphabet", s)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"SecretId": "`+c.SecretID+`"`) || !strings.Contains(string(data), `"SecretKey": "`+c.SecretKey+`"`) {
		t.Errorf("file content %s", data)
	}

	again, _, created, err := LoadOrCreate(dir)
	if err != nil || created || again != c {
		t.Errorf("second LoadOrCreate = %v, created %v, err %v", again, created, err)
	}
	loaded, lpath, err := Load(dir)
	if err != nil || loaded != c || lpath != path {
		t.Errorf("Load = %v, %q, %v", loaded, lpath, err)
	}
	if other, _, _, _ := LoadOrCreate(t.TempDir()); other == c {
		t.Error("two data directories got the same credential")
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" means no file
		want    error
	}{
		{"missing", "", ErrNotFound},
		{"not JSON", "AKID123", ErrCorrupt},
		{"truncated", `{"SecretId":"AKIDabc"`, ErrCorrupt},
		{"wrong prefix", `{"SecretId":"XYZ","SecretKey":"k"}`, ErrCorrupt},
		{"empty key", `{"SecretId":"AKIDabc","SecretKey":""}`, ErrCorrupt},
		{"unknown field", `{"SecretId":"AKIDabc","SecretKey":"k","Extra":1}`, ErrCorrupt},
		{"trailing data", `{"SecretId":"AKIDabc","SecretKey":"k"} {}`, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.content != "" {
				if err := os.WriteFile(filepath.Join(dir, FileName), []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, path, err := Load(dir)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if tt.want == ErrCorrupt {
				// LoadOrCreate must not replace a corrupt file.
				if _, _, _, err := LoadOrCreate(dir); !errors.Is(err, ErrCorrupt) {
					t.Errorf("LoadOrCreate err = %v, want ErrCorrupt", err)
				}
			}
		})
	}
}

func TestLoadValid(t *testing.T) {
	dir := t.TempDir()
	body := `{"SecretId":"AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE","SecretKey":"Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(dir)
	if err != nil || c.SecretID != "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE" || c.SecretKey != "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE" {
		t.Errorf("Load = %+v, %v", c, err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(`{"SecretId":"AKIDabc","SecretKey":"k"}`)
	f.Add(`{"SecretId":1}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, body string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		c, _, err := Load(dir)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v is not ErrCorrupt", err)
			}
			return
		}
		if c.validate() != nil {
			t.Errorf("accepted invalid %+v", c)
		}
	})
}
