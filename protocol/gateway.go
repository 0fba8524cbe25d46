package protocol

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Auth types of a sub-device in a gateway bind request (PROTOCOL.md §8).
const (
	BindAuthPSK  = "psk"
	BindAuthCert = "certificate"
)

// BindText is the text a gateway signs to bind a sub-device (PROTOCOL.md
// §8, §13.7): `{sub_pid}{sub_dn};{random};{timestamp}`.
func BindText(productID, deviceName string, random, timestamp int64) string {
	return productID + deviceName + ";" + strconv.FormatInt(random, 10) + ";" + strconv.FormatInt(timestamp, 10)
}

// SignBind returns the bind signature base64(HMAC-method(key, text)) with
// method MethodHMACSHA1 or MethodHMACSHA256. key is used as is: the
// sub-device's secret string (not base64-decoded), or CertBindKey of its
// certificate.
func SignBind(key, text, method string) (string, error) {
	h, err := newHash(method)
	if err != nil {
		return "", fmt.Errorf("sign bind: %w", err)
	}
	m := hmac.New(h, []byte(key))
	m.Write([]byte(text))
	return base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// CertBindKey is the bind signing key of a certificate sub-device: the
// lowercase hex MD5 of its certificate file content, as the SDKs compute it.
func CertBindKey(certPEM []byte) string {
	s := md5.Sum(certPEM)
	return hex.EncodeToString(s[:])
}
