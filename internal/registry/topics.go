package registry

import (
	"context"
	"errors"
	"fmt"
)

func validPrivilege(p uint64) error {
	if p < PrivilegePublish || p > PrivilegeBoth {
		return invalid("Privilege", "must be 1 (publish), 2 (subscribe) or 3 (both)")
	}
	return nil
}

// CreateTopicPolicy defines a custom topic `{pid}/{dn}/<name>` on a product.
func (s *Service) CreateTopicPolicy(ctx context.Context, productID, name string, privilege uint64) (TopicPolicy, error) {
	if err := validTopicName("TopicName", name); err != nil {
		return TopicPolicy{}, err
	}
	if err := validPrivilege(privilege); err != nil {
		return TopicPolicy{}, err
	}
	if _, err := s.store.GetProduct(ctx, productID); err != nil {
		return TopicPolicy{}, fmt.Errorf("create topic policy: %w", err)
	}
	existing, err := s.store.ListTopicPolicies(ctx, productID)
	if err != nil {
		return TopicPolicy{}, fmt.Errorf("create topic policy: %w", err)
	}
	if len(existing) >= MaxTopicPolicies {
		return TopicPolicy{}, fmt.Errorf("create topic policy on %s: %w (max %d)", productID, ErrTopicLimit, MaxTopicPolicies)
	}
	now := s.clock()
	t := TopicPolicy{ProductID: productID, Name: name, Privilege: privilege, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateTopicPolicy(ctx, t); err != nil {
		return TopicPolicy{}, fmt.Errorf("create topic policy %s/%s: %w", productID, name, err)
	}
	return t, nil
}

// GetTopicPolicy returns one custom topic of a product.
func (s *Service) GetTopicPolicy(ctx context.Context, productID, name string) (TopicPolicy, error) {
	if _, err := s.store.GetProduct(ctx, productID); err != nil {
		return TopicPolicy{}, fmt.Errorf("get topic policy: %w", err)
	}
	t, err := s.store.GetTopicPolicy(ctx, productID, name)
	if err != nil {
		return TopicPolicy{}, fmt.Errorf("get topic policy %s/%s: %w", productID, name, err)
	}
	return t, nil
}

// ListTopicPolicies returns the custom topics of a product.
func (s *Service) ListTopicPolicies(ctx context.Context, productID string) ([]TopicPolicy, error) {
	if _, err := s.store.GetProduct(ctx, productID); err != nil {
		return nil, fmt.Errorf("list topic policies: %w", err)
	}
	ts, err := s.store.ListTopicPolicies(ctx, productID)
	if err != nil {
		return nil, fmt.Errorf("list topic policies of %s: %w", productID, err)
	}
	return ts, nil
}

// ModifyTopicPolicy renames a custom topic and/or changes its privilege.
func (s *Service) ModifyTopicPolicy(ctx context.Context, productID, oldName, newName string, privilege uint64) (TopicPolicy, error) {
	if err := validTopicName("NewTopicName", newName); err != nil {
		return TopicPolicy{}, err
	}
	if err := validPrivilege(privilege); err != nil {
		return TopicPolicy{}, err
	}
	old, err := s.GetTopicPolicy(ctx, productID, oldName)
	if err != nil {
		return TopicPolicy{}, err
	}
	if newName != oldName {
		if _, err := s.store.GetTopicPolicy(ctx, productID, newName); err == nil {
			return TopicPolicy{}, fmt.Errorf("rename topic policy to %s: %w", newName, ErrTopicExists)
		} else if !errors.Is(err, ErrTopicNotFound) && !errors.Is(err, ErrNotFound) {
			return TopicPolicy{}, fmt.Errorf("rename topic policy: %w", err)
		}
	}
	t := TopicPolicy{ProductID: productID, Name: newName, Privilege: privilege, CreatedAt: old.CreatedAt, UpdatedAt: s.clock()}
	if err := s.store.UpdateTopicPolicy(ctx, productID, oldName, t); err != nil {
		return TopicPolicy{}, fmt.Errorf("modify topic policy %s/%s: %w", productID, oldName, err)
	}
	return t, nil
}

// DeleteTopicPolicy removes a custom topic.
func (s *Service) DeleteTopicPolicy(ctx context.Context, productID, name string) error {
	if _, err := s.store.GetProduct(ctx, productID); err != nil {
		return fmt.Errorf("delete topic policy: %w", err)
	}
	if err := s.store.DeleteTopicPolicy(ctx, productID, name); err != nil {
		return fmt.Errorf("delete topic policy %s/%s: %w", productID, name, err)
	}
	return nil
}
