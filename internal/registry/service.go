package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sealer encrypts device secrets at rest (internal/secretbox implements it).
type Sealer interface {
	Seal(plain []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

// CertIssuer issues device certificates signed by Thingo's CA
// (internal/pki implements it).
type CertIssuer interface {
	IssueDeviceCert(productID, deviceName string) (certPEM, keyPEM string, err error)
}

// Service applies the registry's rules over a Store.
type Service struct {
	store  Store
	sealer Sealer
	issuer CertIssuer
	now    func() time.Time
}

// NewService returns a Service. issuer may be nil, in which case devices of
// certificate products cannot be created (ErrCertUnavailable). now defaults
// to time.Now.
func NewService(store Store, sealer Sealer, issuer CertIssuer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, sealer: sealer, issuer: issuer, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// idAttempts bounds retries when a random id collides.
const idAttempts = 5

// ProjectInput is what CreateProject and ModifyProject take.
type ProjectInput struct {
	Name       string
	Desc       string
	InstanceID string
}

func (in ProjectInput) validate() error {
	if err := validText("ProjectName", in.Name, MaxProjectNameLen, true); err != nil {
		return err
	}
	return validText("ProjectDesc", in.Desc, MaxDescLen, false)
}

// CreateProject creates a project with a new id.
func (s *Service) CreateProject(ctx context.Context, in ProjectInput) (Project, error) {
	if err := in.validate(); err != nil {
		return Project{}, err
	}
	now := s.clock()
	for range idAttempts {
		id, err := newProjectID()
		if err != nil {
			return Project{}, err
		}
		p := Project{ID: id, Name: in.Name, Desc: in.Desc, InstanceID: in.InstanceID, CreatedAt: now, UpdatedAt: now}
		err = s.store.CreateProject(ctx, p)
		if errors.Is(err, ErrProjectExists) {
			continue
		}
		if err != nil {
			return Project{}, fmt.Errorf("create project: %w", err)
		}
		return p, nil
	}
	return Project{}, fmt.Errorf("create project: %w", ErrProjectExists)
}

// GetProject returns a project and its product and device counts.
func (s *Service) GetProject(ctx context.Context, id string) (Project, ProjectCounts, error) {
	p, err := s.store.GetProject(ctx, id)
	if err != nil {
		return Project{}, ProjectCounts{}, fmt.Errorf("get project %s: %w", id, err)
	}
	c, err := s.store.CountProject(ctx, id)
	if err != nil {
		return Project{}, ProjectCounts{}, fmt.Errorf("count project %s: %w", id, err)
	}
	return p, c, nil
}

// ListProjects returns a page of projects and the total count.
func (s *Service) ListProjects(ctx context.Context, f ProjectFilter) ([]Project, int64, error) {
	ps, total, err := s.store.ListProjects(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", err)
	}
	return ps, total, nil
}

// CountProject returns the product and device counts of a project.
func (s *Service) CountProject(ctx context.Context, id string) (ProjectCounts, error) {
	c, err := s.store.CountProject(ctx, id)
	if err != nil {
		return ProjectCounts{}, fmt.Errorf("count project %s: %w", id, err)
	}
	return c, nil
}

// ModifyProject changes a project's name and description.
func (s *Service) ModifyProject(ctx context.Context, id string, in ProjectInput) (Project, error) {
	if err := in.validate(); err != nil {
		return Project{}, err
	}
	p, err := s.store.GetProject(ctx, id)
	if err != nil {
		return Project{}, fmt.Errorf("modify project %s: %w", id, err)
	}
	p.Name, p.Desc, p.UpdatedAt = in.Name, in.Desc, s.clock()
	if err := s.store.UpdateProject(ctx, p); err != nil {
		return Project{}, fmt.Errorf("modify project %s: %w", id, err)
	}
	return p, nil
}

// DeleteProject deletes an empty project (ErrProjectHasProducts otherwise).
func (s *Service) DeleteProject(ctx context.Context, id string) error {
	if err := s.store.DeleteProject(ctx, id); err != nil {
		return fmt.Errorf("delete project %s: %w", id, err)
	}
	return nil
}

// ProductInput is what CreateProduct takes.
type ProductInput struct {
	ProjectID      string
	Name           string
	CategoryID     int64
	ProductType    int64
	EncryptionType string
	NetType        string
	DataProtocol   int64
	Desc           string
	Rate           string
	Period         string
}

func (in ProductInput) validate() error {
	if err := validProductName(in.Name); err != nil {
		return err
	}
	if in.CategoryID < 0 {
		return invalid("CategoryId", "must not be negative")
	}
	if in.ProductType != ProductTypeNormal && in.ProductType != ProductTypeGateway {
		return invalid("ProductType", "must be 0 (normal) or 5 (gateway)")
	}
	if in.EncryptionType != EncryptionCert && in.EncryptionType != EncryptionKey {
		return invalid("EncryptionType", "must be \"1\" (certificate) or \"2\" (key); TID is not supported")
	}
	if in.NetType == "" || len(in.NetType) > 32 || strings.ContainsFunc(in.NetType, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) {
		return invalid("NetType", "must be a connection type such as wifi, cellular, ethernet, else")
	}
	if in.DataProtocol != 1 && in.DataProtocol != 2 {
		return invalid("DataProtocol", "must be 1 (thing model) or 2 (custom)")
	}
	if err := validText("ProductDesc", in.Desc, MaxDescLen, false); err != nil {
		return err
	}
	if err := validText("Rate", in.Rate, 64, false); err != nil {
		return err
	}
	return validText("Period", in.Period, 64, false)
}

// productNameTaken reports whether another product already has name;
// Tencent requires product names to be unique.
func (s *Service) productNameTaken(ctx context.Context, name, exceptID string) (bool, error) {
	ps, _, err := s.store.ListProducts(ctx, ProductFilter{})
	if err != nil {
		return false, fmt.Errorf("list products: %w", err)
	}
	for _, p := range ps {
		if p.Name == name && p.ID != exceptID {
			return true, nil
		}
	}
	return false, nil
}

// CreateProduct creates a product in development state with a new id.
func (s *Service) CreateProduct(ctx context.Context, in ProductInput) (Product, error) {
	if err := in.validate(); err != nil {
		return Product{}, err
	}
	if in.ProjectID == "" {
		return Product{}, invalid("ProjectId", "must not be empty")
	}
	if _, err := s.store.GetProject(ctx, in.ProjectID); err != nil {
		return Product{}, fmt.Errorf("create product: %w", err)
	}
	taken, err := s.productNameTaken(ctx, in.Name, "")
	if err != nil {
		return Product{}, err
	}
	if taken {
		return Product{}, fmt.Errorf("create product %q: %w", in.Name, ErrProductExists)
	}
	now := s.clock()
	for range idAttempts {
		id, err := newProductID()
		if err != nil {
			return Product{}, err
		}
		p := Product{
			ID: id, ProjectID: in.ProjectID, Name: in.Name, CategoryID: in.CategoryID,
			ProductType: in.ProductType, EncryptionType: in.EncryptionType, NetType: in.NetType,
			DataProtocol: in.DataProtocol, Desc: in.Desc, DevStatus: "dev", EnableProductScript: "false",
			Rate: in.Rate, Period: in.Period, CreatedAt: now, UpdatedAt: now,
		}
		err = s.store.CreateProduct(ctx, p)
		if errors.Is(err, ErrProductExists) {
			continue
		}
		if err != nil {
			return Product{}, fmt.Errorf("create product: %w", err)
		}
		return p, nil
	}
	return Product{}, fmt.Errorf("create product: %w", ErrProductExists)
}

// GetProduct returns a product.
func (s *Service) GetProduct(ctx context.Context, id string) (Product, error) {
	p, err := s.store.GetProduct(ctx, id)
	if err != nil {
		return Product{}, fmt.Errorf("get product %s: %w", id, err)
	}
	return p, nil
}

// ListProducts returns a page of products and the total count.
func (s *Service) ListProducts(ctx context.Context, f ProductFilter) ([]Product, int64, error) {
	ps, total, err := s.store.ListProducts(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	return ps, total, nil
}

// CountDevices returns the number of devices of a product.
func (s *Service) CountDevices(ctx context.Context, productID string) (int64, error) {
	n, err := s.store.CountDevices(ctx, productID)
	if err != nil {
		return 0, fmt.Errorf("count devices of %s: %w", productID, err)
	}
	return n, nil
}

// ProductUpdate is what ModifyProduct takes; nil pointers keep the value.
type ProductUpdate struct {
	Name                string
	Desc                string
	ModuleID            int64
	EnableProductScript *string // "true" or "false"
	BindStrategy        *uint64 // 1 kick the old connection, 2 refuse the new one; other values ignored
}

// ModifyProduct changes a product's name, description and options.
func (s *Service) ModifyProduct(ctx context.Context, id string, in ProductUpdate) (Product, error) {
	if err := validProductName(in.Name); err != nil {
		return Product{}, err
	}
	if err := validText("ProductDesc", in.Desc, MaxDescLen, false); err != nil {
		return Product{}, err
	}
	if in.EnableProductScript != nil && *in.EnableProductScript != "true" && *in.EnableProductScript != "false" {
		return Product{}, invalid("EnableProductScript", "must be \"true\" or \"false\"")
	}
	p, err := s.store.GetProduct(ctx, id)
	if err != nil {
		return Product{}, fmt.Errorf("modify product %s: %w", id, err)
	}
	taken, err := s.productNameTaken(ctx, in.Name, id)
	if err != nil {
		return Product{}, err
	}
	if taken {
		return Product{}, fmt.Errorf("modify product %s name %q: %w", id, in.Name, ErrProductExists)
	}
	p.Name, p.Desc, p.ModuleID = in.Name, in.Desc, in.ModuleID
	if in.EnableProductScript != nil {
		p.EnableProductScript = *in.EnableProductScript
	}
	if in.BindStrategy != nil && (*in.BindStrategy == 1 || *in.BindStrategy == 2) {
		p.BindStrategy = *in.BindStrategy
	}
	p.UpdatedAt = s.clock()
	if err := s.store.UpdateProduct(ctx, p); err != nil {
		return Product{}, fmt.Errorf("modify product %s: %w", id, err)
	}
	return p, nil
}

// ReleaseProduct sets a product's development status ("dev", "audit" or
// "released").
func (s *Service) ReleaseProduct(ctx context.Context, id, devStatus string) error {
	switch devStatus {
	case "dev", "audit", "released":
	default:
		return invalid("DevStatus", "must be dev, audit or released")
	}
	p, err := s.store.GetProduct(ctx, id)
	if err != nil {
		return fmt.Errorf("release product %s: %w", id, err)
	}
	p.DevStatus, p.UpdatedAt = devStatus, s.clock()
	if err := s.store.UpdateProduct(ctx, p); err != nil {
		return fmt.Errorf("release product %s: %w", id, err)
	}
	return nil
}

// DeleteProduct deletes a product without devices (ErrProductHasDevices
// otherwise) and its topic policies.
func (s *Service) DeleteProduct(ctx context.Context, id string) error {
	if err := s.store.DeleteProduct(ctx, id); err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	return nil
}
