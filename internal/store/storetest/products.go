package storetest

import (
	"context"
	"testing"

	"github.com/thingo-iot/thingo/internal/registry"
)

func testProducts(t *testing.T, s registry.Store) {
	ctx := context.Background()
	mustNil(t, s.CreateProject(ctx, project("P1", 0)))
	p := product("PRODUCT01", "P1", 0)
	p.BindStrategy = 1 << 63 // the full uint64 range survives the int64 column
	mustNil(t, s.CreateProduct(ctx, p))
	wantErr(t, "create duplicate", s.CreateProduct(ctx, product("PRODUCT01", "P1", 1)), registry.ErrProductExists)
	wantErr(t, "create in missing project", s.CreateProduct(ctx, product("PRODUCT02", "nope", 1)),
		registry.ErrProjectNotFound)

	got, err := s.GetProduct(ctx, "PRODUCT01")
	mustNil(t, err)
	if got != p {
		t.Errorf("GetProduct = %+v, want %+v", got, p)
	}
	_, err = s.GetProduct(ctx, "PRODUCT02")
	wantErr(t, "get missing", err, registry.ErrProductNotFound)

	upd := p
	upd.Name, upd.Desc, upd.DevStatus, upd.ModuleID, upd.EnableProductScript = "renamed", "d2", "released", 9, "1"
	upd.BindStrategy, upd.Rate, upd.Period, upd.NetType, upd.UpdatedAt = 2, "115200", "60", "cellular", at(30)
	upd.CategoryID, upd.ProductType, upd.EncryptionType, upd.DataProtocol = 3, registry.ProductTypeGateway,
		registry.EncryptionCert, 2
	upd.ProjectID, upd.CreatedAt = "ignored", at(99) // never change
	mustNil(t, s.UpdateProduct(ctx, upd))
	got, err = s.GetProduct(ctx, "PRODUCT01")
	mustNil(t, err)
	want := upd
	want.ProjectID, want.CreatedAt = p.ProjectID, p.CreatedAt
	if got != want {
		t.Errorf("after update GetProduct = %+v, want %+v", got, want)
	}
	wantErr(t, "update missing", s.UpdateProduct(ctx, product("PRODUCT02", "P1", 0)), registry.ErrProductNotFound)

	n, err := s.CountDevices(ctx, "PRODUCT01")
	mustNil(t, err)
	if n != 0 {
		t.Errorf("CountDevices = %d, want 0", n)
	}
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", "d1", 0)))
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", "d2", 0)))
	n, err = s.CountDevices(ctx, "PRODUCT01")
	mustNil(t, err)
	if n != 2 {
		t.Errorf("CountDevices = %d, want 2", n)
	}
	_, err = s.CountDevices(ctx, "PRODUCT02")
	wantErr(t, "count devices of missing product", err, registry.ErrProductNotFound)
}

func testProductList(t *testing.T, s registry.Store) {
	ctx := context.Background()
	mustNil(t, s.CreateProject(ctx, project("P1", 0)))
	mustNil(t, s.CreateProject(ctx, project("P2", 0)))
	for i, spec := range []struct{ id, project, status string }{
		{"PRODUCTA01", "P1", "dev"},
		{"PRODUCTA02", "P1", "released"},
		{"PRODUCTA03", "P2", "dev"},
		{"PRODUCTA04", "P1", "dev"},
	} {
		p := product(spec.id, spec.project, i)
		p.DevStatus = spec.status
		mustNil(t, s.CreateProduct(ctx, p))
	}
	tests := []struct {
		name  string
		f     registry.ProductFilter
		want  []string
		total int64
	}{
		{"all oldest first", registry.ProductFilter{}, []string{"PRODUCTA01", "PRODUCTA02", "PRODUCTA03", "PRODUCTA04"}, 4},
		{"project", registry.ProductFilter{ProjectID: "P1"}, []string{"PRODUCTA01", "PRODUCTA02", "PRODUCTA04"}, 3},
		{"project page", registry.ProductFilter{ProjectID: "P1", Offset: 1, Limit: 1}, []string{"PRODUCTA02"}, 3},
		{"status", registry.ProductFilter{DevStatus: "dev"}, []string{"PRODUCTA01", "PRODUCTA03", "PRODUCTA04"}, 3},
		{"status all", registry.ProductFilter{ProjectID: "P2", DevStatus: "all"}, []string{"PRODUCTA03"}, 1},
		{"project and status", registry.ProductFilter{ProjectID: "P1", DevStatus: "released"}, []string{"PRODUCTA02"}, 1},
		{"unknown project", registry.ProductFilter{ProjectID: "nope"}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.ListProducts(ctx, tc.f)
			mustNil(t, err)
			var ids []string
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			if total != tc.total || !equal(ids, tc.want) {
				t.Errorf("ListProducts(%+v) = %v, %d; want %v, %d", tc.f, ids, total, tc.want, tc.total)
			}
		})
	}
}

func testProductDelete(t *testing.T, s registry.Store) {
	ctx := context.Background()
	seed(t, s)
	mustNil(t, s.CreateDevice(ctx, device("PRODUCT01", "d1", 0)))
	mustNil(t, s.CreateTopicPolicy(ctx, registry.TopicPolicy{
		ProductID: "PRODUCT01", Name: "control", Privilege: registry.PrivilegeBoth, CreatedAt: at(0), UpdatedAt: at(0),
	}))

	wantErr(t, "delete with devices", s.DeleteProduct(ctx, "PRODUCT01"), registry.ErrProductHasDevices)
	if _, err := s.GetTopicPolicy(ctx, "PRODUCT01", "control"); err != nil {
		t.Errorf("topic policy gone after refused delete: %v", err)
	}
	mustNil(t, s.DeleteDevice(ctx, "PRODUCT01", "d1"))
	mustNil(t, s.DeleteProduct(ctx, "PRODUCT01"))
	_, err := s.GetProduct(ctx, "PRODUCT01")
	wantErr(t, "get deleted", err, registry.ErrProductNotFound)
	_, err = s.GetTopicPolicy(ctx, "PRODUCT01", "control")
	wantErr(t, "topic policy of deleted product", err, registry.ErrTopicNotFound)
	wantErr(t, "delete missing", s.DeleteProduct(ctx, "PRODUCT01"), registry.ErrProductNotFound)

	// The topic name is free again for a new product with the same id.
	mustNil(t, s.CreateProduct(ctx, product("PRODUCT01", "P1", 1)))
	mustNil(t, s.CreateTopicPolicy(ctx, registry.TopicPolicy{ProductID: "PRODUCT01", Name: "control", Privilege: 1}))
	mustNil(t, s.DeleteProduct(ctx, "PRODUCT01"))
	mustNil(t, s.DeleteProject(ctx, "P1"))
}
