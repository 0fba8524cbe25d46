package tlspsk

import "strconv"

// Alert is a TLS alert description (RFC 5246 §7.2, RFC 4279 §2, RFC 5746).
type Alert uint8

// Alert descriptions used by this package.
const (
	AlertCloseNotify        Alert = 0
	AlertUnexpectedMessage  Alert = 10
	AlertBadRecordMAC       Alert = 20
	AlertRecordOverflow     Alert = 22
	AlertHandshakeFailure   Alert = 40
	AlertIllegalParameter   Alert = 47
	AlertDecodeError        Alert = 50
	AlertDecryptError       Alert = 51
	AlertProtocolVersion    Alert = 70
	AlertInternalError      Alert = 80
	AlertNoRenegotiation    Alert = 100
	AlertUnsupportedExt     Alert = 110
	AlertUnknownPSKIdentity Alert = 115
	alertLevelWarning       byte  = 1
	alertLevelFatal         byte  = 2
)

var alertNames = map[Alert]string{
	AlertCloseNotify:        "close_notify",
	AlertUnexpectedMessage:  "unexpected_message",
	AlertBadRecordMAC:       "bad_record_mac",
	AlertRecordOverflow:     "record_overflow",
	AlertHandshakeFailure:   "handshake_failure",
	AlertIllegalParameter:   "illegal_parameter",
	AlertDecodeError:        "decode_error",
	AlertDecryptError:       "decrypt_error",
	AlertProtocolVersion:    "protocol_version",
	AlertInternalError:      "internal_error",
	AlertNoRenegotiation:    "no_renegotiation",
	AlertUnsupportedExt:     "unsupported_extension",
	AlertUnknownPSKIdentity: "unknown_psk_identity",
}

// String returns the RFC name of the alert.
func (a Alert) String() string {
	if s, ok := alertNames[a]; ok {
		return s
	}
	return "alert(" + strconv.Itoa(int(a)) + ")"
}

// AlertError reports an alert: either received from the peer (Remote) or
// sent to it because of a local failure.
type AlertError struct {
	Alert  Alert
	Remote bool
	// Err is the local cause for a sent alert, nil for a received one.
	Err error
}

// Error implements error.
func (e *AlertError) Error() string {
	if e.Remote {
		return "tlspsk: remote error: " + e.Alert.String()
	}
	if e.Err != nil {
		return "tlspsk: " + e.Alert.String() + ": " + e.Err.Error()
	}
	return "tlspsk: local error: " + e.Alert.String()
}

// Unwrap returns the local cause.
func (e *AlertError) Unwrap() error { return e.Err }
