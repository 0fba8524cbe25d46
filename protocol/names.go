package protocol

// Limits of names (PROTOCOL.md notation).
const (
	ProductIDLen     = 10
	MaxDeviceNameLen = 48
)

// ValidProductID reports whether s is a product id: 10 upper-case letters or
// digits.
func ValidProductID(s string) bool {
	if len(s) != ProductIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ValidDeviceName reports whether s is a device name: 1 to 48 characters of
// [a-zA-Z0-9:_-].
func ValidDeviceName(s string) bool {
	if len(s) == 0 || len(s) > MaxDeviceNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ClientID returns the MQTT client id of a device, `{pid}{dn}`.
func ClientID(pid, dn string) string { return pid + dn }

// SplitClientID splits a client id `{pid}{dn}` into product id and device
// name; ok is false when either part is invalid.
func SplitClientID(clientID string) (pid, dn string, ok bool) {
	if len(clientID) <= ProductIDLen {
		return "", "", false
	}
	pid, dn = clientID[:ProductIDLen], clientID[ProductIDLen:]
	if !ValidProductID(pid) || !ValidDeviceName(dn) {
		return "", "", false
	}
	return pid, dn, true
}
