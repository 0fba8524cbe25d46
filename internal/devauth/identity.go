// Package devauth authenticates device connections (key signatures, client
// certificates, TLS-PSK identities) and compiles each device's topic
// permissions once, at CONNECT, so that checks per message do no I/O.
package devauth

import (
	"crypto/x509"
)

// ConnectRequest is what the broker knows about a connection when the
// device's CONNECT arrives.
type ConnectRequest struct {
	ClientID      string
	Username      string
	Password      []byte
	ProtocolLevel byte // 3 (MQTT 3.1) or 4 (MQTT 3.1.1)
	// PeerCertificates are the verified client certificates of a mutual TLS
	// connection, leaf first; nil otherwise.
	PeerCertificates []*x509.Certificate
	// PSKIdentity is set when a TLS-PSK handshake already authenticated the
	// device `{pid}{dn}`; the password may then be absent.
	PSKIdentity string
	RemoteAddr  string
}

// Identity is an authenticated device connection.
type Identity struct {
	ProductID     string
	DeviceName    string
	ClientID      string
	Method        string // "hmacsha1", "hmacsha256", "cert" or "psk"
	SDKAppID      string
	ProtocolLevel byte
	Gateway       bool
	ACL           *ACL
}
