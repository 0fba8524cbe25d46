package api

import "context"

func (h *Handler) createTopicPolicy(ctx context.Context, req *createTopicPolicyRequest) (*emptyResponse, error) {
	if _, err := h.reg.CreateTopicPolicy(ctx, *req.ProductId, *req.TopicName, *req.Privilege); err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}

func (h *Handler) describeTopicPolicy(ctx context.Context, req *topicPolicyRequest) (*describeTopicPolicyResponse, error) {
	t, err := h.reg.GetTopicPolicy(ctx, *req.ProductId, *req.TopicName)
	if err != nil {
		return nil, err
	}
	return &describeTopicPolicyResponse{ProductId: t.ProductID, TopicName: t.Name, Privilege: t.Privilege}, nil
}

func (h *Handler) listTopicPolicy(ctx context.Context, req *productIDRequest) (*listTopicPolicyResponse, error) {
	ts, err := h.reg.ListTopicPolicies(ctx, *req.ProductId)
	if err != nil {
		return nil, err
	}
	out := &listTopicPolicyResponse{Topics: make([]TopicItem, 0, len(ts))}
	for _, t := range ts {
		out.Topics = append(out.Topics, TopicItem{TopicName: t.Name, Privilege: t.Privilege})
	}
	return out, nil
}

func (h *Handler) modifyTopicPolicy(ctx context.Context, req *modifyTopicPolicyRequest) (*emptyResponse, error) {
	if _, err := h.reg.ModifyTopicPolicy(ctx, *req.ProductId, *req.TopicName, *req.NewTopicName, *req.Privilege); err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}

func (h *Handler) deleteTopicPolicy(ctx context.Context, req *topicPolicyRequest) (*emptyResponse, error) {
	if err := h.reg.DeleteTopicPolicy(ctx, *req.ProductId, *req.TopicName); err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}
