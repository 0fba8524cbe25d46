package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/thingo-iot/thingo/internal/api/tc3"
	"github.com/thingo-iot/thingo/internal/devicedata"
	"github.com/thingo-iot/thingo/internal/ota"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/thingmodel"
)

// ErrDeviceOffline is what a Sessions.Publish returns (wrapped or not) when
// the device has no live connection to deliver to; the API answers
// FailedOperation.DeviceOffline. Broker adapters must use it.
var ErrDeviceOffline = errors.New("device offline")

// Error codes used by the API (Tencent Cloud API 3.0 common codes and
// iotexplorer codes).
const (
	codeInternalError           = "InternalError"
	codeInvalidAction           = "InvalidAction"
	codeNoSuchVersion           = "NoSuchVersion"
	codeInvalidParameter        = "InvalidParameter"
	codeInvalidParameterValue   = "InvalidParameterValue"
	codeMissingParameter        = "MissingParameter"
	codeInvalidRequest          = "InvalidRequest"
	codeRequestSizeLimit        = "RequestSizeLimitExceeded"
	codeAuthInvalid             = "AuthFailure.InvalidAuthorization"
	codeAuthSecretIDNotFound    = "AuthFailure.SecretIdNotFound"
	codeAuthSignatureExpire     = "AuthFailure.SignatureExpire"
	codeAuthSignatureFailure    = "AuthFailure.SignatureFailure"
	codeProjectNotExist         = "ResourceNotFound.ProjectNotExist"
	codeProductNotExist         = "ResourceNotFound.StudioProductNotExist"
	codeDeviceNotExist          = "ResourceNotFound.DeviceNotExist"
	codeTopicPolicyNotExist     = "ResourceNotFound.TopicPolicyNotExist"
	codeProjectDupKey           = "UnsupportedOperation.ProjectDupKeyExist"
	codeProductAlreadyExist     = "InvalidParameterValue.ProductAlreadyExist"
	codeDeviceAlreadyExist      = "InvalidParameterValue.DeviceAlreadyExist"
	codeTopicPolicyAlreadyExist = "InvalidParameterValue.TopicPolicyAlreadyExist"
	codeProductExistUnder       = "UnsupportedOperation.ProductExistUnderProject"
	codeDevicesExistUnder       = "UnsupportedOperation.DevicesExistUnderProduct"
	codeTopicPolicyLimit        = "LimitExceeded.TopicPolicyExceedLimit"
	codeProductNotSupportPSK    = "UnauthorizedOperation.ProductNotSupportPSK"
	codeDeviceOffline           = "FailedOperation.DeviceOffline"
	codeDeviceDisabled          = "FailedOperation.DeviceAlreadyDisabled"
	codePayloadOverLimit        = "InvalidParameterValue.PayloadOverLimit"
	codeFailedOperation         = "FailedOperation"
	codeModelDefineNil          = "InvalidParameterValue.ModelDefineNil"
	codeActionNilOrNotExist     = "InvalidParameterValue.ActionNilOrNotExist"
	codeActionInputInvalid      = "InvalidParameter.ActionInputParamsInvalid"
	codeActionUnreachable       = "FailedOperation.ActionUnreachable"
	codeTimeout                 = "FailedOperation.Timeout"
)

// Error is an API error with its Tencent code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ErrorCode is the Tencent error code.
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage is the human-readable message.
func (e *Error) ErrorMessage() string { return e.Message }

func newError(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// mapping is the one table from Go errors to API codes, checked in order.
var mapping = []struct {
	err  error
	code string
	msg  string
}{
	{tc3.ErrInvalidAuthorization, codeAuthInvalid, ""},
	{tc3.ErrSecretIDNotFound, codeAuthSecretIDNotFound, "The SecretId is not found, please ensure that your SecretId is correct."},
	{tc3.ErrSignatureExpire, codeAuthSignatureExpire, ""},
	{tc3.ErrSignatureFailure, codeAuthSignatureFailure, "The provided credentials could not be validated. Please check your signature is correct."},
	{registry.ErrProjectNotFound, codeProjectNotExist, "project does not exist"},
	{registry.ErrProductNotFound, codeProductNotExist, "product does not exist"},
	{registry.ErrDeviceNotFound, codeDeviceNotExist, "device does not exist"},
	{registry.ErrTopicNotFound, codeTopicPolicyNotExist, "topic policy does not exist"},
	{registry.ErrProjectExists, codeProjectDupKey, "project already exists"},
	{registry.ErrProductExists, codeProductAlreadyExist, "a product with this name already exists"},
	{registry.ErrDeviceExists, codeDeviceAlreadyExist, "device already exists"},
	{registry.ErrTopicExists, codeTopicPolicyAlreadyExist, "topic policy already exists"},
	{registry.ErrProjectHasProducts, codeProductExistUnder, "the project still has products"},
	{registry.ErrProductHasDevices, codeDevicesExistUnder, "the product still has devices"},
	{registry.ErrTopicLimit, codeTopicPolicyLimit, ""},
	{registry.ErrPSKNotSupported, codeProductNotSupportPSK, "the product uses certificates; DefinedPsk is not allowed"},
	{registry.ErrCertUnavailable, codeFailedOperation, "certificate issuing is not configured on this server"},
	{ErrDeviceOffline, codeDeviceOffline, "device is offline"},
	{devicedata.ErrNoModel, codeModelDefineNil, "the product has no thing model; define one with ModifyModelDefinition"},
	{devicedata.ErrDeviceOffline, codeDeviceOffline, "device is offline"},
	{ota.ErrFirmwareNotFound, codeFirmwareNotExist, "firmware does not exist"},
	{ota.ErrFirmwareExists, codeFirmwareAlreadyExist, "firmware version already exists"},
	{ota.ErrTaskNotFound, codeFirmwareTaskNotExist, "firmware task does not exist"},
	{ota.ErrDeviceUpdating, codeDeviceIsUpdating, ""},
	{ota.ErrAlreadyOnVersion, codeDeviceFirmwareIsUpdated, "the devices already run this firmware version"},
	{ota.ErrFileNotUploaded, codeInvalidParameterValue, "the firmware file was not uploaded to the GetCOSURL address"},
	{ota.ErrFileMismatch, codeInvalidParameterValue, ""},
	{ota.ErrNoDevices, codeInvalidParameterValue, "no device matches the task"},
	{ota.ErrNoActiveUpgrade, codeResourceNotFound, "the device has no firmware upgrade"},
	{ota.ErrTaskNotPaused, codeInvalidParameterValue, "the firmware task is not paused"},
}

// toAPIError maps any error to an API error. ok is false for errors that
// have no mapping (reported as InternalError, and worth logging).
func toAPIError(err error) (e *Error, ok bool) {
	if errors.As(err, &e) {
		return e, true
	}
	var de *thingmodel.DefineError
	if errors.As(err, &de) {
		if de.ID == "" {
			return newError(de.Code, "parameter ModelSchema: "+de.Reason), true
		}
		return newError(de.Code, "parameter ModelSchema: "+strconv.Quote(de.ID)+": "+de.Reason), true
	}
	var inv *registry.InvalidError
	if errors.As(err, &inv) {
		return newError(codeInvalidParameterValue, "parameter "+inv.Field+": "+inv.Reason), true
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return newError(codeRequestSizeLimit, "request body larger than the limit"), true
	}
	for _, m := range mapping {
		if errors.Is(err, m.err) {
			msg := m.msg
			if msg == "" {
				msg = err.Error()
			}
			return newError(m.code, msg), true
		}
	}
	return newError(codeInternalError, "internal error"), false
}
