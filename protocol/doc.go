// Package protocol is Thingo's device contract, shared by the server and the
// Go device SDK: MQTT credentials (username, signed password, expiry rules),
// CONNACK codes, platform topic builders and parsers, and name validation.
// It follows PROTOCOL.md and uses the standard library only.
package protocol
