package protocol

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Device log upload over HTTP (PROTOCOL.md §13.9), the C SDK's text format:
//
//	[0,40)    lowercase hex HMAC-SHA1(sign key, body[40:])
//	[40,44)   "P###" (key device) or "C###" (certificate device)
//	[44,54)   product id
//	[54,102)  device name, right-padded with '#'
//	[102,112) unix time, "%010d"
//	[112,...) log lines "LVL|YYYY-MM-DD HH:MM:SS|file|func(line): msg", each ending in "\n\f"
const (
	// PathReportLog is where devices POST their logs.
	PathReportLog = "/cgi-bin/report-log"
	// DefaultMaxLogBody is the default body limit of a log upload.
	DefaultMaxLogBody = 3000
	// LogHeaderLen is the length of the fixed header.
	LogHeaderLen = 112
	// LogSignKeyLen is the length of the sign key taken from the secret.
	LogSignKeyLen = 24
	// LogDelimiter ends every log line.
	LogDelimiter = "\n\f"
	// LogUploadReply is the reply the SDK expects on success.
	LogUploadReply = `{"Retcode":0}`
)

// Auth kinds of the log header's control bytes.
const (
	LogAuthKey  byte = 'P'
	LogAuthCert byte = 'C'
)

const (
	logSigEnd  = 40
	logCtrlEnd = 44
	logPIDEnd  = 54
	logDNEnd   = 102
	logPad     = '#'
)

// Errors of log upload parsing and checking.
var (
	ErrMalformedLog = errors.New("malformed log upload")
	ErrLogTooLarge  = errors.New("log upload too large")
	ErrLogSignature = errors.New("log upload signature mismatch")
)

// LogUpload is a parsed log upload body.
type LogUpload struct {
	Signature  string // hex HMAC-SHA1 as sent (filled by ParseLogUpload)
	Auth       byte   // LogAuthKey or LogAuthCert
	ProductID  string
	DeviceName string
	Time       int64 // unix seconds of the device's clock; 0 when it had none
	Lines      []LogLine
}

// LogLine is one log line. A line that does not follow the SDK format is kept
// whole in Message with the other fields empty.
type LogLine struct {
	Level   string // e.g. "ERR", "WRN", "INF", "DBG"
	Time    string // "YYYY-MM-DD HH:MM:SS", device local time
	File    string
	Func    string
	Line    int
	Message string
}

// String formats l as the SDK does, without the delimiter.
func (l LogLine) String() string {
	if l.Level == "" && l.Time == "" && l.File == "" && l.Func == "" {
		return l.Message
	}
	return fmt.Sprintf("%s|%s|%s|%s(%d): %s", l.Level, l.Time, l.File, l.Func, l.Line, l.Message)
}

// ParseLogLine parses "LVL|YYYY-MM-DD HH:MM:SS|file|func(line): msg".
func ParseLogLine(s string) LogLine {
	parts := strings.SplitN(s, "|", 4)
	if len(parts) != 4 {
		return LogLine{Message: s}
	}
	head, msg, ok := strings.Cut(parts[3], "): ")
	if !ok {
		head, ok = strings.CutSuffix(parts[3], ")")
		if !ok {
			return LogLine{Message: s}
		}
	}
	open := strings.LastIndexByte(head, '(')
	if open < 0 {
		return LogLine{Message: s}
	}
	n, err := strconv.Atoi(head[open+1:])
	if err != nil || n < 0 {
		return LogLine{Message: s}
	}
	return LogLine{Level: parts[0], Time: parts[1], File: parts[2], Func: head[:open], Line: n, Message: msg}
}

// LogSignKey returns the sign key of a key device: the first 24 characters
// of its psk string (all of it when shorter).
func LogSignKey(psk string) string {
	if len(psk) > LogSignKeyLen {
		return psk[:LogSignKeyLen]
	}
	return psk
}

// LogSignKeyFromCert returns the sign key of a certificate device: the first
// 24 characters of the first base64 line after the PEM "-----BEGIN " line.
// It returns "" when certPEM has no such line.
func LogSignKeyFromCert(certPEM string) string {
	lines := strings.Split(certPEM, "\n")
	for i, l := range lines {
		if strings.Contains(l, "-----BEGIN ") && i+1 < len(lines) {
			return LogSignKey(strings.TrimRight(lines[i+1], "\r"))
		}
	}
	return ""
}

// ParseLogUpload parses a log upload body. maxLen limits the body size
// (DefaultMaxLogBody when <= 0). It checks the shape only; call
// VerifyLogUpload with the device's sign key.
func ParseLogUpload(body []byte, maxLen int) (LogUpload, error) {
	if maxLen <= 0 {
		maxLen = DefaultMaxLogBody
	}
	if len(body) > maxLen {
		return LogUpload{}, fmt.Errorf("%w: %d bytes, limit %d", ErrLogTooLarge, len(body), maxLen)
	}
	if len(body) < LogHeaderLen {
		return LogUpload{}, fmt.Errorf("%w: %d bytes, shorter than the header", ErrMalformedLog, len(body))
	}
	sig := string(body[:logSigEnd])
	if _, err := hex.DecodeString(sig); err != nil {
		return LogUpload{}, fmt.Errorf("%w: signature is not hex", ErrMalformedLog)
	}
	auth := body[logSigEnd]
	if (auth != LogAuthKey && auth != LogAuthCert) || string(body[logSigEnd+1:logCtrlEnd]) != "###" {
		return LogUpload{}, fmt.Errorf("%w: control bytes %q", ErrMalformedLog, body[logSigEnd:logCtrlEnd])
	}
	pid := string(bytes.TrimRight(body[logCtrlEnd:logPIDEnd], "#"))
	dn := string(bytes.TrimRight(body[logPIDEnd:logDNEnd], "#"))
	if !ValidProductID(pid) || !ValidDeviceName(dn) {
		return LogUpload{}, fmt.Errorf("%w: bad product id or device name", ErrMalformedLog)
	}
	tsText := body[logDNEnd:LogHeaderLen]
	for _, c := range tsText {
		if c < '0' || c > '9' {
			return LogUpload{}, fmt.Errorf("%w: time %q", ErrMalformedLog, tsText)
		}
	}
	ts, err := strconv.ParseInt(string(tsText), 10, 64)
	if err != nil {
		return LogUpload{}, fmt.Errorf("%w: time: %w", ErrMalformedLog, err)
	}
	u := LogUpload{Signature: sig, Auth: auth, ProductID: pid, DeviceName: dn, Time: ts}
	for _, l := range strings.Split(string(body[LogHeaderLen:]), LogDelimiter) {
		if l == "" {
			continue
		}
		u.Lines = append(u.Lines, ParseLogLine(l))
	}
	return u, nil
}

func logMAC(signKey string, signed []byte) []byte {
	m := hmac.New(sha1.New, []byte(signKey))
	m.Write(signed)
	return m.Sum(nil)
}

// VerifyLogUpload checks the signature of a log upload body in constant
// time; signKey comes from LogSignKey or LogSignKeyFromCert.
func VerifyLogUpload(signKey string, body []byte) error {
	if len(body) < LogHeaderLen {
		return fmt.Errorf("%w: shorter than the header", ErrMalformedLog)
	}
	got, err := hex.DecodeString(string(body[:logSigEnd]))
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrMalformedLog)
	}
	if !hmac.Equal(got, logMAC(signKey, body[logSigEnd:])) {
		return ErrLogSignature
	}
	return nil
}

// BuildLogUpload builds a signed log upload body (device side). u.Signature
// is ignored. It fails when a name does not fit the header or a line
// contains the delimiter.
func BuildLogUpload(signKey string, u LogUpload) ([]byte, error) {
	if u.Auth != LogAuthKey && u.Auth != LogAuthCert {
		return nil, fmt.Errorf("%w: auth %q", ErrMalformedLog, u.Auth)
	}
	if !ValidProductID(u.ProductID) || !ValidDeviceName(u.DeviceName) {
		return nil, fmt.Errorf("%w: bad product id or device name", ErrMalformedLog)
	}
	if u.Time < 0 || u.Time > 9_999_999_999 {
		return nil, fmt.Errorf("%w: time %d", ErrMalformedLog, u.Time)
	}
	var b bytes.Buffer
	b.Write(bytes.Repeat([]byte{'0'}, logSigEnd))
	b.WriteByte(u.Auth)
	b.WriteString("###")
	b.WriteString(u.ProductID)
	b.WriteString(u.DeviceName)
	b.Write(bytes.Repeat([]byte{logPad}, logDNEnd-b.Len()))
	fmt.Fprintf(&b, "%010d", u.Time)
	for _, l := range u.Lines {
		s := l.String()
		if strings.Contains(s, LogDelimiter) {
			return nil, fmt.Errorf("%w: line contains the delimiter", ErrMalformedLog)
		}
		b.WriteString(s)
		b.WriteString(LogDelimiter)
	}
	body := b.Bytes()
	hex.Encode(body[:logSigEnd], logMAC(signKey, body[logSigEnd:]))
	return body, nil
}
