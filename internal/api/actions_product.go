package api

import (
	"context"

	"github.com/thingo-iot/thingo/internal/registry"
)

func productEntry(p registry.Product, devices int64) ProductEntry {
	return ProductEntry{
		ProductId: p.ID, ProductName: p.Name, CategoryId: p.CategoryID, EncryptionType: p.EncryptionType,
		NetType: p.NetType, DataProtocol: p.DataProtocol, ProductDesc: p.Desc, DevStatus: p.DevStatus,
		CreateTime: uint64(unixSec(p.CreatedAt)), UpdateTime: uint64(unixSec(p.UpdatedAt)),
		ProductType: p.ProductType, ProjectId: p.ProjectID, ModuleId: p.ModuleID,
		EnableProductScript: p.EnableProductScript, BindStrategy: p.BindStrategy, DeviceCount: devices,
		Rate: p.Rate, Period: p.Period,
	}
}

func (h *Handler) productResponse(ctx context.Context, p registry.Product) (*productResponse, error) {
	n, err := h.reg.CountDevices(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return &productResponse{Product: productEntry(p, n)}, nil
}

func (h *Handler) createStudioProduct(ctx context.Context, req *createStudioProductRequest) (*productResponse, error) {
	p, err := h.reg.CreateProduct(ctx, registry.ProductInput{
		ProjectID: *req.ProjectId, Name: *req.ProductName, CategoryID: *req.CategoryId,
		ProductType: *req.ProductType, EncryptionType: *req.EncryptionType, NetType: *req.NetType,
		DataProtocol: *req.DataProtocol, Desc: *req.ProductDesc, Rate: req.Rate, Period: req.Period,
	})
	if err != nil {
		return nil, err
	}
	return &productResponse{Product: productEntry(p, 0)}, nil
}

func (h *Handler) describeStudioProduct(ctx context.Context, req *productIDRequest) (*productResponse, error) {
	p, err := h.reg.GetProduct(ctx, *req.ProductId)
	if err != nil {
		return nil, err
	}
	return h.productResponse(ctx, p)
}

func (h *Handler) getStudioProductList(ctx context.Context, req *getStudioProductListRequest) (*getStudioProductListResponse, error) {
	var limit *int64
	if req.Limit != nil {
		l := int64(min(*req.Limit, maxLimit+1))
		limit = &l
	}
	n, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	if req.ProjectId != "" {
		if _, _, err := h.reg.GetProject(ctx, req.ProjectId); err != nil {
			return nil, err
		}
	}
	ps, total, err := h.reg.ListProducts(ctx, registry.ProductFilter{
		ProjectID: req.ProjectId, DevStatus: req.DevStatus, Offset: int(min(req.Offset, 1<<31)), Limit: n,
	})
	if err != nil {
		return nil, err
	}
	out := &getStudioProductListResponse{Products: make([]ProductEntry, 0, len(ps)), Total: total}
	for _, p := range ps {
		c, err := h.reg.CountDevices(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		out.Products = append(out.Products, productEntry(p, c))
	}
	return out, nil
}

func (h *Handler) modifyStudioProduct(ctx context.Context, req *modifyStudioProductRequest) (*productResponse, error) {
	p, err := h.reg.ModifyProduct(ctx, *req.ProductId, registry.ProductUpdate{
		Name: *req.ProductName, Desc: *req.ProductDesc, ModuleID: *req.ModuleId,
		EnableProductScript: req.EnableProductScript, BindStrategy: req.BindStrategy,
	})
	if err != nil {
		return nil, err
	}
	return h.productResponse(ctx, p)
}

func (h *Handler) deleteStudioProduct(ctx context.Context, req *productIDRequest) (*emptyResponse, error) {
	if err := h.reg.DeleteProduct(ctx, *req.ProductId); err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}

func (h *Handler) releaseStudioProduct(ctx context.Context, req *releaseStudioProductRequest) (*emptyResponse, error) {
	if err := h.reg.ReleaseProduct(ctx, *req.ProductId, *req.DevStatus); err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}
