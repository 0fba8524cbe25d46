package thingmodel

import (
	"errors"
	"fmt"
)

// API error codes (Tencent Cloud API 3.0) returned for invalid thing-model definitions.
const (
	CodeModelDefineInvalid                = "InvalidParameterValue.ModelDefineInvalid"
	CodeModelDefineNil                    = "InvalidParameterValue.ModelDefineNil"
	CodeModelDefineDupID                  = "InvalidParameterValue.ModelDefineDupID"
	CodeModelDefineErrorType              = "InvalidParameterValue.ModelDefineErrorType"
	CodeModelDefineEventTypeError         = "InvalidParameterValue.ModelDefineEventTypeError"
	CodeModelDefineEventTypeMissing       = "MissingParameter.ModelDefineEventTypeError"
	CodeModelDefineEventParamsDupID       = "InvalidParameterValue.ModelDefineEventParamsDupID"
	CodeModelDefineEventParamsExceedLimit = "InvalidParameterValue.ModelDefineEventParamsExceedLimit"
	CodeModelDefinePropBoolMappingError   = "InvalidParameterValue.ModelDefinePropBoolMappingError"
	CodeModelDefinePropEnumMappingError   = "InvalidParameterValue.ModelDefinePropEnumMappingError"
	CodeModelDefinePropRangeError         = "InvalidParameterValue.ModelDefinePropRangeError"
	CodeModelDefinePropRangeOverflow      = "InvalidParameterValue.ModelDefinePropRangeOverflow"
)

// ErrInvalidModel matches every *DefineError with errors.Is.
var ErrInvalidModel = errors.New("invalid thing model")

// Sentinel errors of value validation. A *ValueError wraps exactly one of them; ProtocolCode maps them
// to the reply codes of PROTOCOL.md §5.8.
var (
	// ErrMalformed: the params are not valid JSON (protocol code 400).
	ErrMalformed = errors.New("malformed JSON")
	// ErrNotInModel: a property, event, action or parameter id is not in the thing model (403).
	ErrNotInModel = errors.New("not in thing model")
	// ErrReadOnly: a control targets a property whose mode is "r" (403).
	ErrReadOnly = errors.New("property is read-only")
	// ErrInvalidValue: a value has the wrong type or is out of range (406).
	ErrInvalidValue = errors.New("invalid value")
	// ErrMissingParam: a declared action input is missing (406).
	ErrMissingParam = errors.New("missing parameter")
	// ErrEventType: the event type differs from the model's (406).
	ErrEventType = errors.New("event type mismatch")
)

// DefineError reports an invalid thing-model definition. Code is the Tencent API error code.
type DefineError struct {
	Code   string // API error code, e.g. CodeModelDefineDupID
	ID     string // offending id (path such as "position.longitude"), may be empty
	Reason string
}

// Error implements error.
func (e *DefineError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("thing model: %s: %s", e.Code, e.Reason)
	}
	return fmt.Sprintf("thing model: %s: %q: %s", e.Code, e.ID, e.Reason)
}

// Is reports whether target is ErrInvalidModel.
func (e *DefineError) Is(target error) bool { return target == ErrInvalidModel }

func defErr(code, id, format string, args ...any) *DefineError {
	return &DefineError{Code: code, ID: id, Reason: fmt.Sprintf(format, args...)}
}

// Code returns the API error code carried by err (a *DefineError anywhere in its chain), or "".
func Code(err error) string {
	var de *DefineError
	if errors.As(err, &de) {
		return de.Code
	}
	return ""
}

// ValueError reports the first invalid parameter of a report, control, event or action payload.
type ValueError struct {
	Param  string // path of the bad parameter: "brightness", "position.longitude", "arrInt[2]"; may be empty
	Err    error  // one of the sentinel errors above
	Reason string
}

// Error implements error.
func (e *ValueError) Error() string {
	if e.Param == "" {
		return fmt.Sprintf("%v: %s", e.Err, e.Reason)
	}
	return fmt.Sprintf("%s: %v: %s", e.Param, e.Err, e.Reason)
}

// Unwrap returns the sentinel error.
func (e *ValueError) Unwrap() error { return e.Err }

func valErr(sentinel error, format string, args ...any) *ValueError {
	return &ValueError{Err: sentinel, Reason: fmt.Sprintf(format, args...)}
}

// prefix prepends a parent path element to the error's Param.
func prefix(err error, id string) error {
	var ve *ValueError
	if !errors.As(err, &ve) {
		return err
	}
	switch {
	case ve.Param == "":
		ve.Param = id
	case ve.Param[0] == '[':
		ve.Param = id + ve.Param
	default:
		ve.Param = id + "." + ve.Param
	}
	return ve
}

// ProtocolCode maps a validation error to the reply code of PROTOCOL.md §5.8: 0 for nil, 400 for
// malformed JSON, 403 for ids not in the model (or read-only properties on control), 406 for bad
// values, 503 for anything else.
func ProtocolCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrMalformed):
		return 400
	case errors.Is(err, ErrNotInModel), errors.Is(err, ErrReadOnly):
		return 403
	case errors.Is(err, ErrInvalidValue), errors.Is(err, ErrMissingParam), errors.Is(err, ErrEventType):
		return 406
	default:
		return 503
	}
}
