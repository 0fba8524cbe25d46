package storetest

import (
	"context"
	"testing"

	"github.com/thingo-iot/thingo/internal/registry"
)

func topic(productID, name string, priv uint64, minute int) registry.TopicPolicy {
	return registry.TopicPolicy{ProductID: productID, Name: name, Privilege: priv, CreatedAt: at(minute), UpdatedAt: at(minute)}
}

func testTopicPolicies(t *testing.T, s registry.Store) {
	ctx := context.Background()
	seed(t, s)
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT02", "P1", 1)))
	tp := topic("PRODUCT01", "data/up", registry.PrivilegePublish, 0)
	mustNil(t, s.CreateTopicPolicy(ctx, tp))
	mustNil(t, s.CreateTopicPolicy(ctx, topic("PRODUCT01", "control", registry.PrivilegeSubscribe, 1)))
	mustNil(t, s.CreateTopicPolicy(ctx, topic("PRODUCT02", "data/up", registry.PrivilegeBoth, 1)))
	wantErr(t, "create duplicate", s.CreateTopicPolicy(ctx, topic("PRODUCT01", "data/up", 3, 2)), registry.ErrTopicExists)
	wantErr(t, "create in missing product", s.CreateTopicPolicy(ctx, topic("NOPRODUCT0", "x", 1, 0)),
		registry.ErrProductNotFound)

	got, err := s.GetTopicPolicy(ctx, "PRODUCT01", "data/up")
	mustNil(t, err)
	if got != tp {
		t.Errorf("GetTopicPolicy = %+v, want %+v", got, tp)
	}
	_, err = s.GetTopicPolicy(ctx, "PRODUCT01", "nope")
	wantErr(t, "get missing", err, registry.ErrTopicNotFound)

	list, err := s.ListTopicPolicies(ctx, "PRODUCT01")
	mustNil(t, err)
	if len(list) != 2 || list[0].Name != "control" || list[1] != tp {
		t.Errorf("ListTopicPolicies = %+v, want control then data/up", list)
	}
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT03", "P1", 2)))
	list, err = s.ListTopicPolicies(ctx, "PRODUCT03")
	mustNil(t, err)
	if len(list) != 0 {
		t.Errorf("ListTopicPolicies(empty product) = %+v", list)
	}
	_, err = s.ListTopicPolicies(ctx, "NOPRODUCT0")
	wantErr(t, "list of missing product", err, registry.ErrProductNotFound)

	mustNil(t, s.DeleteTopicPolicy(ctx, "PRODUCT01", "data/up"))
	_, err = s.GetTopicPolicy(ctx, "PRODUCT01", "data/up")
	wantErr(t, "get deleted", err, registry.ErrTopicNotFound)
	wantErr(t, "delete missing", s.DeleteTopicPolicy(ctx, "PRODUCT01", "data/up"), registry.ErrTopicNotFound)
	if _, err := s.GetTopicPolicy(ctx, "PRODUCT02", "data/up"); err != nil {
		t.Errorf("other product's topic gone: %v", err)
	}
}

func testTopicPolicyRename(t *testing.T, s registry.Store) {
	ctx := context.Background()
	seed(t, s)
	mustNil(t, s.CreateTopicPolicy(ctx, topic("PRODUCT01", "a", registry.PrivilegePublish, 0)))
	mustNil(t, s.CreateTopicPolicy(ctx, topic("PRODUCT01", "b", registry.PrivilegeSubscribe, 0)))

	tests := []struct {
		name    string
		oldName string
		upd     registry.TopicPolicy
		wantErr error
		want    *registry.TopicPolicy // state of the policy afterwards, by its final name
	}{
		{"privilege only", "a", registry.TopicPolicy{Name: "a", Privilege: registry.PrivilegeBoth, UpdatedAt: at(5)}, nil,
			&registry.TopicPolicy{ProductID: "PRODUCT01", Name: "a", Privilege: 3, CreatedAt: at(0), UpdatedAt: at(5)}},
		{"empty name keeps name", "a", registry.TopicPolicy{Privilege: registry.PrivilegePublish, UpdatedAt: at(6)}, nil,
			&registry.TopicPolicy{ProductID: "PRODUCT01", Name: "a", Privilege: 1, CreatedAt: at(0), UpdatedAt: at(6)}},
		{"rename onto existing", "a", registry.TopicPolicy{Name: "b", Privilege: 1, UpdatedAt: at(7)}, registry.ErrTopicExists,
			&registry.TopicPolicy{ProductID: "PRODUCT01", Name: "b", Privilege: 2, CreatedAt: at(0), UpdatedAt: at(0)}},
		{"rename", "a", registry.TopicPolicy{Name: "c/d", Privilege: 2, UpdatedAt: at(8)}, nil,
			&registry.TopicPolicy{ProductID: "PRODUCT01", Name: "c/d", Privilege: 2, CreatedAt: at(0), UpdatedAt: at(8)}},
		{"old name is free", "b", registry.TopicPolicy{Name: "a", Privilege: 2, UpdatedAt: at(9)}, nil,
			&registry.TopicPolicy{ProductID: "PRODUCT01", Name: "a", Privilege: 2, CreatedAt: at(0), UpdatedAt: at(9)}},
		{"missing", "zzz", registry.TopicPolicy{Name: "y", Privilege: 1}, registry.ErrTopicNotFound, nil},
	}
	for _, tc := range tests {
		err := s.UpdateTopicPolicy(ctx, "PRODUCT01", tc.oldName, tc.upd)
		wantErr(t, tc.name, err, tc.wantErr)
		if tc.want == nil {
			continue
		}
		got, err := s.GetTopicPolicy(ctx, "PRODUCT01", tc.want.Name)
		mustNil(t, err)
		if got != *tc.want {
			t.Errorf("%s: policy = %+v, want %+v", tc.name, got, *tc.want)
		}
	}
	wantErr(t, "update in missing product", s.UpdateTopicPolicy(ctx, "NOPRODUCT0", "a", topic("", "q", 1, 0)),
		registry.ErrTopicNotFound)
}
