package sdk

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// ErrDownload is wrapped by every *OTAError.
var ErrDownload = errors.New("sdk: firmware download failed")

// OTAError is a failed firmware download with the OTACode* to report.
type OTAError struct {
	Code int
	Err  error
}

func (e *OTAError) Error() string {
	return fmt.Sprintf("sdk: firmware download failed (code %d): %v", e.Code, e.Err)
}

// Unwrap returns ErrDownload and the cause.
func (e *OTAError) Unwrap() []error { return []error{ErrDownload, e.Err} }

// StateSuffix is appended to a download's target path to name its state
// file.
const StateSuffix = ".ota.json"

// FirmwareDownload downloads the firmware of an update_firmware push to Path
// with HTTP Range resume and an MD5 check. Its progress is recorded in
// Path+StateSuffix after every chunk, so that a download cut by a network
// error or a process restart resumes from the recorded offset when Run is
// called again for the same version, MD5 and size (the URL may differ: the
// platform signs a new link on every push).
type FirmwareDownload struct {
	Update OTAUpdate
	// Path is the target file.
	Path string
	// HTTPClient fetches the file (default http.DefaultClient).
	HTTPClient *http.Client
	// OnProgress, when set, is called with the downloaded percentage each
	// time it changes.
	OnProgress func(percent int)
}

// downloadState is the JSON state file of a download.
type downloadState struct {
	Version  string `json:"version"`
	MD5      string `json:"md5sum"`
	FileSize int64  `json:"file_size"`
	Offset   int64  `json:"offset"`
}

// Run downloads (or resumes) the file. On success the file at Path is
// complete and matches the MD5, and the state file is removed. Failures are
// *OTAError with the code to report, except a canceled ctx, which returns
// ctx's error (the state is kept for a later resume).
func (d FirmwareDownload) Run(ctx context.Context) error {
	u := d.Update
	if _, err := hex.DecodeString(u.MD5); err != nil || len(u.MD5) != 32 || u.FileSize <= 0 || u.URL == "" {
		return fmt.Errorf("sdk: firmware download: bad update %+v", u)
	}
	want := downloadState{Version: u.Version, MD5: strings.ToLower(u.MD5), FileSize: u.FileSize}
	f, err := os.OpenFile(d.Path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("sdk: firmware download: %w", err)
	}
	defer f.Close()
	offset := d.resumeOffset(want, f)
	if err := f.Truncate(offset); err != nil {
		return fmt.Errorf("sdk: firmware download: %w", err)
	}
	if offset < u.FileSize {
		if err := d.fetch(ctx, f, want, offset); err != nil {
			return err
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("sdk: firmware download: %w", err)
	}
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("sdk: firmware download: %w", err)
	}
	_ = os.Remove(d.statePath())
	if got := hex.EncodeToString(h.Sum(nil)); got != want.MD5 {
		_ = f.Truncate(0)
		return &OTAError{Code: OTACodeMD5Mismatch, Err: fmt.Errorf("MD5 %s, want %s", got, want.MD5)}
	}
	return nil
}

func (d FirmwareDownload) statePath() string { return d.Path + StateSuffix }

// resumeOffset returns the offset to resume from: the recorded offset when
// the state file describes the same firmware, bounded by the file's size.
func (d FirmwareDownload) resumeOffset(want downloadState, f *os.File) int64 {
	b, err := os.ReadFile(d.statePath())
	if err != nil {
		return 0
	}
	var st downloadState
	if json.Unmarshal(b, &st) != nil || st.Version != want.Version || st.MD5 != want.MD5 ||
		st.FileSize != want.FileSize || st.Offset < 0 || st.Offset > want.FileSize {
		return 0
	}
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return min(st.Offset, fi.Size())
}

func (d FirmwareDownload) saveState(st downloadState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := d.statePath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, d.statePath())
}

// fetch downloads from offset to the end into f, recording the offset.
func (d FirmwareDownload) fetch(ctx context.Context, f *os.File, st downloadState, offset int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.Update.URL, nil)
	if err != nil {
		return &OTAError{Code: OTACodeFileNotExist, Err: err}
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	res, err := httpClient(d.HTTPClient).Do(req)
	if err != nil {
		return d.fail(ctx, err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusForbidden:
		return &OTAError{Code: OTACodeLinkExpired, Err: fmt.Errorf("HTTP %d", res.StatusCode)}
	case res.StatusCode == http.StatusNotFound:
		return &OTAError{Code: OTACodeFileNotExist, Err: fmt.Errorf("HTTP %d", res.StatusCode)}
	case res.StatusCode == http.StatusOK:
		offset = 0 // the server ignored the range: start over
	case res.StatusCode == http.StatusPartialContent:
		var start int64
		if _, err := fmt.Sscanf(res.Header.Get("Content-Range"), "bytes %d-", &start); err != nil || start != offset {
			return &OTAError{Code: OTACodeDownloadTimeout, Err: fmt.Errorf("Content-Range %q for offset %d", res.Header.Get("Content-Range"), offset)}
		}
	default:
		return &OTAError{Code: OTACodeDownloadTimeout, Err: fmt.Errorf("HTTP %d", res.StatusCode)}
	}
	if err := f.Truncate(offset); err != nil {
		return fmt.Errorf("sdk: firmware download: %w", err)
	}
	percent := -1
	progress := func() {
		if p := int(offset * 100 / st.FileSize); p != percent && d.OnProgress != nil {
			percent = p
			d.OnProgress(p)
		}
	}
	progress()
	buf := make([]byte, 32<<10)
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if offset+int64(n) > st.FileSize {
				return &OTAError{Code: OTACodeDownloadTimeout, Err: fmt.Errorf("file larger than %d bytes", st.FileSize)}
			}
			if _, err := f.WriteAt(buf[:n], offset); err != nil {
				return fmt.Errorf("sdk: firmware download: %w", err)
			}
			offset += int64(n)
			st.Offset = offset
			if err := d.saveState(st); err != nil {
				return fmt.Errorf("sdk: firmware download: state: %w", err)
			}
			progress()
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return d.fail(ctx, rerr)
		}
	}
	if offset != st.FileSize {
		return &OTAError{Code: OTACodeDownloadTimeout, Err: fmt.Errorf("got %d of %d bytes", offset, st.FileSize)}
	}
	return nil
}

// fail classifies a transfer error: ctx's own error when it was canceled,
// else a download failure (-1).
func (d FirmwareDownload) fail(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("sdk: firmware download: %w", ctx.Err())
	}
	return &OTAError{Code: OTACodeDownloadTimeout, Err: err}
}

// DownloadFirmware runs a FirmwareDownload of u to path and reports its
// progress: downloading every 10 percent, and fail with the OTACode* when it
// fails (not when ctx is canceled, which keeps the state for a resume).
// After it returns nil, burn the file, then report burning and done.
func (c *Client) DownloadFirmware(ctx context.Context, u OTAUpdate, path string, hc *http.Client) error {
	return c.downloadFirmware(ctx, c.cfg.ProductID, c.cfg.DeviceName, u, path, hc)
}

// downloadFirmware runs the download of device pid/dn (the client's own
// device or a sub-device of its gateway) and reports its progress.
func (c *Client) downloadFirmware(ctx context.Context, pid, dn string, u OTAUpdate, path string, hc *http.Client) error {
	last := -10
	d := FirmwareDownload{Update: u, Path: path, HTTPClient: hc, OnProgress: func(p int) {
		if p >= last+10 || p == 100 && last != 100 {
			last = p
			if err := c.reportOTAProgress(ctx, pid, dn, u.Version, OTAProgress{State: OTAStateDownloading, Percent: p}); err != nil {
				c.log.Warn("report download progress", "product", pid, "device", dn, "err", err)
			}
		}
	}}
	err := d.Run(ctx)
	var oe *OTAError
	if errors.As(err, &oe) {
		if rerr := c.reportOTAProgress(ctx, pid, dn, u.Version, OTAProgress{State: OTAStateFail, Code: oe.Code, Message: oe.Err.Error()}); rerr != nil {
			c.log.Warn("report download failure", "product", pid, "device", dn, "err", rerr)
		}
	}
	return err
}
