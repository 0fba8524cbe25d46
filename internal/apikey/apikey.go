// Package apikey keeps the management API credential of a Thingo
// installation: a Tencent-style SecretId/SecretKey pair created on first
// start and stored in the data directory, readable only by its owner.
package apikey

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the credential file inside the data directory.
const FileName = "admin-credentials.json"

const (
	idPrefix = "AKID"
	idLen    = 36 // like Tencent's SecretIds
	keyLen   = 32
	alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

var (
	// ErrNotFound means the data directory holds no credential yet.
	ErrNotFound = errors.New("admin credential not found")
	// ErrCorrupt means the credential file cannot be used.
	ErrCorrupt = errors.New("admin credential file is corrupt")
)

// Credential is a management API SecretId and SecretKey (TC3-HMAC-SHA256).
type Credential struct {
	SecretID  string `json:"SecretId"`
	SecretKey string `json:"SecretKey"`
}

// Path is the credential file of a data directory.
func Path(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Load reads the credential of dataDir and returns it with the file's path.
// A missing file gives ErrNotFound, an unusable one ErrCorrupt.
func Load(dataDir string) (Credential, string, error) {
	path := Path(dataDir)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Credential{}, path, fmt.Errorf("apikey: %s: %w", path, ErrNotFound)
	}
	if err != nil {
		return Credential{}, path, fmt.Errorf("apikey: %w", err)
	}
	var c Credential
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Credential{}, path, fmt.Errorf("apikey: %s: %w: %v", path, ErrCorrupt, err)
	}
	if dec.More() {
		return Credential{}, path, fmt.Errorf("apikey: %s: %w: data after the JSON object", path, ErrCorrupt)
	}
	if err := c.validate(); err != nil {
		return Credential{}, path, fmt.Errorf("apikey: %s: %w: %v", path, ErrCorrupt, err)
	}
	return c, path, nil
}

// LoadOrCreate returns the credential of dataDir, creating the directory
// (0700) and a new random credential (file mode 0600) when there is none;
// created tells which. An existing file is never overwritten.
func LoadOrCreate(dataDir string) (c Credential, path string, created bool, err error) {
	c, path, err = Load(dataDir)
	if !errors.Is(err, ErrNotFound) {
		return c, path, false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Credential{}, path, false, fmt.Errorf("apikey: %w", err)
	}
	c, err = New()
	if err != nil {
		return Credential{}, path, false, err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return Credential{}, path, false, fmt.Errorf("apikey: %w", err)
	}
	err = writeNew(path, append(data, '\n'))
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: use theirs.
		c, path, err = Load(dataDir)
		return c, path, false, err
	}
	if err != nil {
		return Credential{}, path, false, err
	}
	return c, path, true, nil
}

// New returns a random credential: SecretId "AKID" + 32 letters and digits,
// SecretKey 32 letters and digits.
func New() (Credential, error) {
	id, err := randomString(idLen - len(idPrefix))
	if err != nil {
		return Credential{}, err
	}
	key, err := randomString(keyLen)
	if err != nil {
		return Credential{}, err
	}
	return Credential{SecretID: idPrefix + id, SecretKey: key}, nil
}

func (c Credential) validate() error {
	if !strings.HasPrefix(c.SecretID, idPrefix) || len(c.SecretID) <= len(idPrefix) {
		return errors.New(`SecretId must start with "AKID"`)
	}
	if c.SecretKey == "" {
		return errors.New("SecretKey is empty")
	}
	return nil
}

// randomString returns n characters of alphabet chosen uniformly.
func randomString(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("apikey: random: %w", err)
		}
		for _, b := range buf {
			// 248 = 4*62: reject the top bytes so every character is equally likely.
			if b < 248 && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// writeNew writes data to path with mode 0600 unless path exists (then the
// error matches fs.ErrExist). The file appears complete or not at all.
func writeNew(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("apikey: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("apikey: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("apikey: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("apikey: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("apikey: write %s: %w", path, err)
	}
	// Link fails if path exists, so a concurrent creator is never clobbered.
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("apikey: create %s: %w", path, err)
	}
	return nil
}
