package api

import (
	"context"
	"errors"

	"github.com/thingo-iot/thingo/internal/twecall"
)

// TWecallPools manages the local TWecall license pools (PROTOCOL.md §11).
type TWecallPools interface {
	SetPool(ctx context.Context, productID string, pkgType int, total int64, validDays int) error
	Pools(ctx context.Context, productID string) ([]twecall.Pool, error)
}

// TWeCallLicensePool is one pool of licenses (Thingo extension actions
// ModifyTWeCallLicensePool and DescribeTWeCallLicensePools).
type TWeCallLicensePool struct {
	PkgType    int64
	Total      int64
	Used       int64
	ValidDays  int64
	UpdateTime int64
}

type (
	modifyTWeCallLicensePoolRequest struct {
		ProductId *string `required:"true"`
		PkgType   *int64  `required:"true"`
		Total     *int64  `required:"true"`
		ValidDays *int64  `required:"true"`
	}
	describeTWeCallLicensePoolsRequest struct {
		ProductId *string `required:"true"`
	}
	describeTWeCallLicensePoolsResponse struct {
		Pools []TWeCallLicensePool
	}
)

func (h *Handler) modifyTWeCallLicensePool(ctx context.Context, req *modifyTWeCallLicensePoolRequest) (*emptyResponse, error) {
	if h.protocols.TWecall == nil {
		return nil, unsupported("TWecall")
	}
	switch {
	case *req.PkgType < twecall.MinPkgType || *req.PkgType > twecall.MaxPkgType:
		return nil, newError(codeInvalidParameterValue, "parameter PkgType: must be 0-4")
	case *req.Total < 0:
		return nil, newError(codeInvalidParameterValue, "parameter Total: must not be negative")
	case *req.ValidDays < 1 || *req.ValidDays > 36500:
		return nil, newError(codeInvalidParameterValue, "parameter ValidDays: must be 1-36500")
	}
	p, err := h.reg.GetProduct(ctx, *req.ProductId)
	if err != nil {
		return nil, err
	}
	if err := h.protocols.TWecall.SetPool(ctx, p.ID, int(*req.PkgType), *req.Total, int(*req.ValidDays)); err != nil {
		if errors.Is(err, twecall.ErrBadPkgType) {
			return nil, newError(codeInvalidParameterValue, "parameter PkgType: must be 0-4")
		}
		return nil, err
	}
	return &emptyResponse{}, nil
}

func (h *Handler) describeTWeCallLicensePools(ctx context.Context, req *describeTWeCallLicensePoolsRequest) (*describeTWeCallLicensePoolsResponse, error) {
	if h.protocols.TWecall == nil {
		return nil, unsupported("TWecall")
	}
	p, err := h.reg.GetProduct(ctx, *req.ProductId)
	if err != nil {
		return nil, err
	}
	pools, err := h.protocols.TWecall.Pools(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	out := &describeTWeCallLicensePoolsResponse{Pools: []TWeCallLicensePool{}}
	for _, pl := range pools {
		out.Pools = append(out.Pools, TWeCallLicensePool{PkgType: int64(pl.PkgType), Total: pl.Total, Used: pl.Used,
			ValidDays: int64(pl.ValidDays), UpdateTime: unixSec(pl.UpdatedAt)})
	}
	return out, nil
}
