package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/thingo-iot/thingo/internal/registry"
)

const productCols = `id, project_id, name, category_id, product_type, encryption_type, net_type,
	data_protocol, description, dev_status, module_id, enable_product_script, bind_strategy,
	rate, period, created_at, updated_at`

func scanProduct(row Row) (registry.Product, error) {
	var p registry.Product
	var bind, created, updated int64
	err := row.Scan(&p.ID, &p.ProjectID, &p.Name, &p.CategoryID, &p.ProductType, &p.EncryptionType,
		&p.NetType, &p.DataProtocol, &p.Desc, &p.DevStatus, &p.ModuleID, &p.EnableProductScript,
		&bind, &p.Rate, &p.Period, &created, &updated)
	if err != nil {
		return registry.Product{}, err
	}
	p.BindStrategy = uint64(bind)
	p.CreatedAt, p.UpdatedAt = fromMillis(created), fromMillis(updated)
	return p, nil
}

// CreateProduct inserts p. It fails with registry.ErrProjectNotFound when
// p.ProjectID is unknown and registry.ErrProductExists when p.ID is taken.
func (s *Store) CreateProduct(ctx context.Context, p registry.Product) error {
	_, err := s.db.Exec(ctx, `INSERT INTO products (`+productCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		p.ID, p.ProjectID, p.Name, p.CategoryID, p.ProductType, p.EncryptionType, p.NetType,
		p.DataProtocol, p.Desc, p.DevStatus, p.ModuleID, p.EnableProductScript, int64(p.BindStrategy),
		p.Rate, p.Period, millis(p.CreatedAt), millis(p.UpdatedAt))
	switch {
	case err == nil:
		return nil
	case s.db.Violation(err) == UniqueViolation:
		return fmt.Errorf("create product %q: %w", p.ID, registry.ErrProductExists)
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("create product %q in project %q: %w", p.ID, p.ProjectID, registry.ErrProjectNotFound)
	default:
		return fmt.Errorf("create product %q: %w", p.ID, err)
	}
}

// GetProduct returns the product id or registry.ErrProductNotFound.
func (s *Store) GetProduct(ctx context.Context, id string) (registry.Product, error) {
	p, err := scanProduct(s.db.QueryRow(ctx, `SELECT `+productCols+` FROM products WHERE id = $1`, id))
	if errors.Is(err, ErrNoRows) {
		return registry.Product{}, fmt.Errorf("get product %q: %w", id, registry.ErrProductNotFound)
	}
	if err != nil {
		return registry.Product{}, fmt.Errorf("get product %q: %w", id, err)
	}
	return p, nil
}

// ListProducts returns one page of the products matching f and their total.
func (s *Store) ListProducts(ctx context.Context, f registry.ProductFilter) ([]registry.Product, int64, error) {
	var w where
	if f.ProjectID != "" {
		w.add("project_id = ?", f.ProjectID)
	}
	if f.DevStatus != "" && f.DevStatus != "all" {
		w.add("dev_status = ?", f.DevStatus)
	}
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM products`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count products: %w", err)
	}
	limit, args := w.page(f.Offset, f.Limit)
	rows, err := s.db.Query(ctx, `SELECT `+productCols+` FROM products`+w.String()+
		` ORDER BY created_at, id`+limit, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	defer rows.Close()
	var out []registry.Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list products: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	return out, total, nil
}

// UpdateProduct stores every field of p except ID, ProjectID and CreatedAt,
// which never change.
func (s *Store) UpdateProduct(ctx context.Context, p registry.Product) error {
	n, err := s.db.Exec(ctx, `UPDATE products SET name = $2, category_id = $3, product_type = $4,
		encryption_type = $5, net_type = $6, data_protocol = $7, description = $8, dev_status = $9,
		module_id = $10, enable_product_script = $11, bind_strategy = $12, rate = $13, period = $14,
		updated_at = $15
		WHERE id = $1`,
		p.ID, p.Name, p.CategoryID, p.ProductType, p.EncryptionType, p.NetType, p.DataProtocol, p.Desc,
		p.DevStatus, p.ModuleID, p.EnableProductScript, int64(p.BindStrategy), p.Rate, p.Period,
		millis(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("update product %q: %w", p.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update product %q: %w", p.ID, registry.ErrProductNotFound)
	}
	return nil
}

// DeleteProduct removes the product and its topic policies; it fails with
// registry.ErrProductHasDevices while devices reference it.
func (s *Store) DeleteProduct(ctx context.Context, id string) error {
	// topic_policies reference products ON DELETE CASCADE; devices do not.
	n, err := s.db.Exec(ctx, `DELETE FROM products WHERE id = $1`, id)
	if err != nil {
		if s.db.Violation(err) == ForeignKeyViolation {
			return fmt.Errorf("delete product %q: %w", id, registry.ErrProductHasDevices)
		}
		return fmt.Errorf("delete product %q: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete product %q: %w", id, registry.ErrProductNotFound)
	}
	return nil
}

// CountDevices counts the devices of a product; an unknown product gives
// registry.ErrProductNotFound.
func (s *Store) CountDevices(ctx context.Context, productID string) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM devices WHERE product_id = $1)
		FROM products WHERE id = $1`, productID).Scan(&n)
	if errors.Is(err, ErrNoRows) {
		return 0, fmt.Errorf("count devices of %q: %w", productID, registry.ErrProductNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("count devices of %q: %w", productID, err)
	}
	return n, nil
}
