package api

import (
	"context"
	"time"

	"github.com/thingo-iot/thingo/internal/devicedata"
)

// ThingData is the thing-model and device-data domain the API serves
// (implemented by *devicedata.Service).
type ThingData interface {
	DescribeModel(ctx context.Context, productID string) (devicedata.ModelRecord, error)
	DefineModel(ctx context.Context, productID, schema string) (devicedata.ModelRecord, error)
	Status(ctx context.Context, productID, deviceName string) (devicedata.Status, error)
	PropertyHistory(ctx context.Context, q devicedata.HistoryQuery) ([]devicedata.HistoryPoint, error)
	EventHistory(ctx context.Context, q devicedata.EventQuery) ([]devicedata.EventRecord, int64, error)
	Control(ctx context.Context, productID, deviceName string, data []byte) (devicedata.ControlResult, error)
	ReportAsCloud(ctx context.Context, productID, deviceName string, data []byte, at time.Time) error
	CallAction(ctx context.Context, productID, deviceName, actionID string, input []byte, wait bool) (devicedata.ActionResult, error)
}

// ProductModelDefinition is a product's thing model.
type ProductModelDefinition struct {
	ProductId     string
	ModelDefine   string
	UpdateTime    int64
	CreateTime    int64
	CategoryModel string
	NetTypeModel  string
}

type describeModelDefinitionRequest struct {
	ProductId *string `required:"true"`
}

type describeModelDefinitionResponse struct {
	Model ProductModelDefinition
}

type modifyModelDefinitionRequest struct {
	ProductId   *string `required:"true"`
	ModelSchema *string `required:"true"`
}

// thingData returns the configured ThingData or an error when the server
// has none.
func (h *Handler) thingData() (ThingData, error) {
	if h.things == nil {
		return nil, newError(codeFailedOperation, "thing models are not available on this server")
	}
	return h.things, nil
}

func (h *Handler) describeModelDefinition(ctx context.Context, req *describeModelDefinitionRequest) (*describeModelDefinitionResponse, error) {
	td, err := h.thingData()
	if err != nil {
		return nil, err
	}
	if _, err := h.reg.GetProduct(ctx, *req.ProductId); err != nil {
		return nil, err
	}
	rec, err := td.DescribeModel(ctx, *req.ProductId)
	if err != nil {
		return nil, err
	}
	return &describeModelDefinitionResponse{Model: ProductModelDefinition{
		ProductId: rec.ProductID, ModelDefine: rec.Schema,
		UpdateTime: unixSec(rec.UpdatedAt), CreateTime: unixSec(rec.CreatedAt),
	}}, nil
}

func (h *Handler) modifyModelDefinition(ctx context.Context, req *modifyModelDefinitionRequest) (*emptyResponse, error) {
	td, err := h.thingData()
	if err != nil {
		return nil, err
	}
	if _, err := h.reg.GetProduct(ctx, *req.ProductId); err != nil {
		return nil, err
	}
	if _, err := td.DefineModel(ctx, *req.ProductId, *req.ModelSchema); err != nil {
		return nil, err
	}
	return &emptyResponse{}, nil
}
