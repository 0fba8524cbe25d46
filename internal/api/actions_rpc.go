package api

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"

	"github.com/thingo-iot/thingo/internal/broadcast"
	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/rrpc"
)

// Protocols serves the actions of the smaller device protocols (RRPC,
// broadcast, remote configuration, TWecall license pools). A nil member
// disables its actions: they answer UnsupportedOperation.
type Protocols struct {
	RRPC         RRPCCaller
	Broadcast    Broadcaster
	RemoteConfig RemoteConfigs
	TWecall      TWecallPools
}

// RRPCCaller sends an RRPC request to a device and waits for its reply.
type RRPCCaller interface {
	Call(ctx context.Context, productID, deviceName string, payload []byte) (rrpc.Reply, error)
}

// Broadcaster sends a message to every reachable device of a product.
type Broadcaster interface {
	Publish(ctx context.Context, productID string, payload []byte, qos byte) (broadcast.Result, error)
}

// Codes of the protocol actions.
const (
	codeUnsupportedOperation   = "UnsupportedOperation"
	codeRRPCTimeout            = "FailedOperation.RRPCTimeout"
	codeBroadcastTaskIsRunning = "FailedOperation.BroadcastTaskIsRunning"
	codeRequestLimitExceeded   = "RequestLimitExceeded"
)

// RRPC statuses of CallDeviceRRPCSync.
const (
	rrpcStatusReplied = "Replied"
	rrpcStatusTimeout = "Timeout"
)

type (
	publishRRPCMessageRequest struct {
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
		Payload    *string `required:"true"`
	}
	publishRRPCMessageResponse struct {
		MessageId     int64
		PayloadBase64 string
	}
	callDeviceRRPCSyncRequest struct {
		ProductId  *string `required:"true"`
		DeviceName *string `required:"true"`
		Payload    string
		Encoding   string
		Topic      string
		ReplyTopic string
	}
	callDeviceRRPCSyncResponse struct {
		ClientToken   string
		Status        string
		MessageId     uint64
		PayloadBase64 string `json:",omitempty"`
		ReplyTopic    string
	}
	publishBroadcastMessageRequest struct {
		ProductId       *string `required:"true"`
		Payload         *string `required:"true"`
		Qos             *int64  `required:"true"`
		PayloadEncoding string
	}
	publishBroadcastMessageResponse struct {
		TaskId int64
		// DeviceCount is a Thingo extension: how many devices the message
		// reached.
		DeviceCount int64
	}
)

func unsupported(what string) error {
	return newError(codeUnsupportedOperation, what+" is not enabled on this server")
}

// rrpcTarget checks that the device exists and is enabled.
func (h *Handler) rrpcTarget(ctx context.Context, pid, dn string) (registry.DeviceDetail, error) {
	det, err := h.reg.GetDevice(ctx, pid, dn)
	if err != nil {
		return det, err
	}
	if det.Device.EnableState != registry.Enabled {
		return det, newError(codeDeviceDisabled, "device is disabled")
	}
	return det, nil
}

func (h *Handler) publishRRPCMessage(ctx context.Context, req *publishRRPCMessageRequest) (*publishRRPCMessageResponse, error) {
	if h.protocols.RRPC == nil {
		return nil, unsupported("RRPC")
	}
	if len(*req.Payload) > MaxPublishPayload {
		return nil, newError(codePayloadOverLimit, "parameter Payload: larger than 16 KB")
	}
	det, err := h.rrpcTarget(ctx, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, err
	}
	r, err := h.protocols.RRPC.Call(ctx, det.Product.ID, det.Device.Name, []byte(*req.Payload))
	if errors.Is(err, rrpc.ErrTimeout) {
		return nil, newError(codeRRPCTimeout, "the device did not answer within "+rrpc.DefaultTimeout.String())
	}
	if err != nil {
		return nil, err
	}
	return &publishRRPCMessageResponse{MessageId: r.MessageID, PayloadBase64: base64.StdEncoding.EncodeToString(r.Payload)}, nil
}

// callDeviceRRPCSync serves the default mode (`$rrpc/rxd` and `$rrpc/txd`,
// the topics the device ACL grants); the custom Topic mode is not
// supported.
func (h *Handler) callDeviceRRPCSync(ctx context.Context, req *callDeviceRRPCSyncRequest) (*callDeviceRRPCSyncResponse, error) {
	if h.protocols.RRPC == nil {
		return nil, unsupported("RRPC")
	}
	if req.Topic != "" || req.ReplyTopic != "" {
		return nil, newError(codeInvalidParameterValue, "parameter Topic: custom RRPC topics are not supported; leave Topic and ReplyTopic empty")
	}
	payload := []byte(req.Payload)
	switch req.Encoding {
	case "":
	case "base64":
		payload = []byte(base64.StdEncoding.EncodeToString(payload))
	default:
		return nil, newError(codeInvalidParameterValue, `parameter Encoding: must be "base64" or empty`)
	}
	if len(payload) > MaxPublishPayload {
		return nil, newError(codePayloadOverLimit, "parameter Payload: larger than 16 KB")
	}
	det, err := h.rrpcTarget(ctx, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, err
	}
	r, err := h.protocols.RRPC.Call(ctx, det.Product.ID, det.Device.Name, payload)
	out := &callDeviceRRPCSyncResponse{
		ClientToken: "thingo::" + strconv.FormatInt(r.MessageID, 10),
		MessageId:   uint64(r.MessageID),
		ReplyTopic:  "$rrpc/txd/" + det.Product.ID + "/" + det.Device.Name + "/+",
	}
	switch {
	case errors.Is(err, rrpc.ErrTimeout):
		out.Status = rrpcStatusTimeout
	case err != nil:
		return nil, err
	default:
		out.Status = rrpcStatusReplied
		out.PayloadBase64 = base64.StdEncoding.EncodeToString(r.Payload)
	}
	return out, nil
}

func (h *Handler) publishBroadcastMessage(ctx context.Context, req *publishBroadcastMessageRequest) (*publishBroadcastMessageResponse, error) {
	if h.protocols.Broadcast == nil {
		return nil, unsupported("broadcast")
	}
	if *req.Qos < 0 || *req.Qos > 1 {
		return nil, newError(codeInvalidParameterValue, "parameter Qos: must be 0 or 1")
	}
	payload := []byte(*req.Payload)
	switch req.PayloadEncoding {
	case "":
	case "base64":
		raw, err := base64.StdEncoding.DecodeString(*req.Payload)
		if err != nil {
			return nil, newError(codeInvalidParameterValue, "parameter Payload: not valid base64")
		}
		payload = raw
	default:
		return nil, newError(codeInvalidParameterValue, `parameter PayloadEncoding: must be "base64" or empty`)
	}
	if len(payload) > MaxPublishPayload {
		return nil, newError(codePayloadOverLimit, "parameter Payload: larger than 16 KB")
	}
	p, err := h.reg.GetProduct(ctx, *req.ProductId)
	if err != nil {
		return nil, err
	}
	res, err := h.protocols.Broadcast.Publish(ctx, p.ID, payload, byte(*req.Qos))
	switch {
	case errors.Is(err, broadcast.ErrTaskRunning):
		return nil, newError(codeBroadcastTaskIsRunning, "a broadcast of this product is running")
	case errors.Is(err, broadcast.ErrRateLimited):
		return nil, newError(codeRequestLimitExceeded, "broadcasts of this product are too frequent")
	case err != nil:
		return nil, err
	}
	return &publishBroadcastMessageResponse{TaskId: res.TaskID, DeviceCount: int64(res.Reached)}, nil
}
