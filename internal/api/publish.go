package api

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/thingo-iot/thingo/internal/registry"
)

// MaxPublishPayload is the largest PublishMessage payload (after base64
// decoding), the platform's per-message limit.
const MaxPublishPayload = 16 * 1024

func itoa(i int) string { return strconv.Itoa(i) }

// downlinkAllowed reports whether the device may subscribe to topic, so the
// platform may publish to it: the device's own down topics, `{pid}/{dn}/
// control` and `/data`, and custom topics with the subscribe privilege.
func downlinkAllowed(p registry.Product, dn, topic string, policies []registry.TopicPolicy) bool {
	pid := p.ID
	suffix := "/" + pid + "/" + dn
	for _, kind := range []string{"property", "event", "action", "service", "raw"} {
		if topic == "$thing/down/"+kind+suffix {
			return true
		}
	}
	fixed := []string{
		"$ota/update" + suffix, "$shadow/operation/result" + suffix, "$resource/down/service" + suffix,
		"$twecall/down/service" + suffix, "$sys/operation/result" + suffix, "$broadcast/rxd" + suffix,
	}
	if p.ProductType == registry.ProductTypeGateway {
		fixed = append(fixed, "$gateway/operation/result"+suffix)
	}
	for _, t := range fixed {
		if topic == t {
			return true
		}
	}
	if rest, ok := strings.CutPrefix(topic, "$rrpc/rxd"+suffix+"/"); ok {
		return rest != "" && !strings.ContainsAny(rest, "/+#")
	}
	own, ok := strings.CutPrefix(topic, pid+"/"+dn+"/")
	if !ok {
		return false
	}
	if own == "control" || own == "data" {
		return true
	}
	for _, tp := range policies {
		if tp.Name == own && tp.Privilege&registry.PrivilegeSubscribe != 0 {
			return true
		}
	}
	return false
}

func (h *Handler) publishMessage(ctx context.Context, req *publishMessageRequest) (*emptyResponse, error) {
	if req.Qos > 1 {
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
	det, err := h.reg.GetDevice(ctx, *req.ProductId, *req.DeviceName)
	if err != nil {
		return nil, err
	}
	if det.Device.EnableState != registry.Enabled {
		return nil, newError(codeDeviceDisabled, "device is disabled")
	}
	policies, err := h.reg.ListTopicPolicies(ctx, det.Product.ID)
	if err != nil {
		return nil, err
	}
	if !downlinkAllowed(det.Product, det.Device.Name, *req.Topic, policies) {
		return nil, newError(codeInvalidParameterValue, "parameter Topic: the device may not subscribe to "+*req.Topic)
	}
	if err := h.sessions.Publish(ctx, det.Product.ID, det.Device.Name, *req.Topic, payload, byte(req.Qos)); err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}
