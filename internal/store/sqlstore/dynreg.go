package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/thingo-iot/thingo/internal/registry"
)

var _ registry.DynregStore = (*Store)(nil)

const dynregCols = `product_id, register_type, register_limit, allow_reregister, sealed_secret,
	registered, updated_at`

func scanDynreg(row Row) (registry.DynamicRegister, error) {
	var d registry.DynamicRegister
	var typ, allow, updated int64
	if err := row.Scan(&d.ProductID, &typ, &d.Limit, &allow, &d.SealedSecret, &d.Registered, &updated); err != nil {
		return registry.DynamicRegister{}, err
	}
	d.Type, d.AllowReregister, d.UpdatedAt = int(typ), allow != 0, fromMillis(updated)
	return d, nil
}

// GetDynamicRegister implements registry.DynregStore.
func (s *Store) GetDynamicRegister(ctx context.Context, productID string) (registry.DynamicRegister, error) {
	d, err := scanDynreg(s.db.QueryRow(ctx, `SELECT `+dynregCols+` FROM product_dynreg WHERE product_id = $1`, productID))
	if errors.Is(err, ErrNoRows) {
		return registry.DynamicRegister{}, fmt.Errorf("dynamic register of %q: %w", productID, registry.ErrNotFound)
	}
	if err != nil {
		return registry.DynamicRegister{}, fmt.Errorf("dynamic register of %q: %w", productID, err)
	}
	return d, nil
}

// EnsureDynamicRegister implements registry.DynregStore.
func (s *Store) EnsureDynamicRegister(ctx context.Context, d registry.DynamicRegister) (registry.DynamicRegister, error) {
	_, err := s.db.Exec(ctx, `INSERT INTO product_dynreg (`+dynregCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (product_id) DO NOTHING`,
		d.ProductID, int64(d.Type), d.Limit, boolInt(d.AllowReregister), d.SealedSecret, d.Registered,
		millis(d.UpdatedAt))
	switch {
	case err == nil:
	case s.db.Violation(err) == ForeignKeyViolation:
		return registry.DynamicRegister{}, fmt.Errorf("dynamic register of %q: %w", d.ProductID, registry.ErrProductNotFound)
	default:
		return registry.DynamicRegister{}, fmt.Errorf("dynamic register of %q: %w", d.ProductID, err)
	}
	got, err := scanDynreg(s.db.QueryRow(ctx, `SELECT `+dynregCols+` FROM product_dynreg WHERE product_id = $1`, d.ProductID))
	if errors.Is(err, ErrNoRows) {
		// Deleted between the two statements.
		return registry.DynamicRegister{}, fmt.Errorf("dynamic register of %q: %w", d.ProductID, registry.ErrProductNotFound)
	}
	if err != nil {
		return registry.DynamicRegister{}, fmt.Errorf("dynamic register of %q: %w", d.ProductID, err)
	}
	return got, nil
}

// UpdateDynamicRegister implements registry.DynregStore.
func (s *Store) UpdateDynamicRegister(ctx context.Context, d registry.DynamicRegister) error {
	n, err := s.db.Exec(ctx, `UPDATE product_dynreg SET register_type = $2, register_limit = $3,
		allow_reregister = $4, updated_at = $5 WHERE product_id = $1`,
		d.ProductID, int64(d.Type), d.Limit, boolInt(d.AllowReregister), millis(d.UpdatedAt))
	if err != nil {
		return fmt.Errorf("update dynamic register of %q: %w", d.ProductID, err)
	}
	if n == 0 {
		return fmt.Errorf("update dynamic register of %q: %w", d.ProductID, registry.ErrProductNotFound)
	}
	return nil
}

// CreateRegisteredDevice implements registry.DynregStore: the counter and
// the device are written in one transaction.
func (s *Store) CreateRegisteredDevice(ctx context.Context, d registry.Device) error {
	return s.db.Tx(ctx, func(tx DB) error {
		n, err := tx.Exec(ctx, `UPDATE product_dynreg SET registered = registered + 1
			WHERE product_id = $1 AND (register_limit = 0 OR registered < register_limit)`, d.ProductID)
		if err != nil {
			return fmt.Errorf("count registration of %s/%s: %w", d.ProductID, d.Name, err)
		}
		if n == 0 {
			var exists int64
			err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM product_dynreg WHERE product_id = $1`, d.ProductID).Scan(&exists)
			if err != nil {
				return fmt.Errorf("count registration of %s/%s: %w", d.ProductID, d.Name, err)
			}
			if exists == 0 {
				return fmt.Errorf("register %s/%s: %w", d.ProductID, d.Name, registry.ErrProductNotFound)
			}
			return fmt.Errorf("register %s/%s: %w", d.ProductID, d.Name, registry.ErrRegisterLimit)
		}
		return insertDevice(ctx, tx, d)
	})
}

// ReplaceDeviceCert implements registry.DynregStore.
func (s *Store) ReplaceDeviceCert(ctx context.Context, productID, name, certPEM, certSHA256 string) error {
	n, err := s.db.Exec(ctx, `UPDATE devices SET cert_pem = $3, cert_sha256 = $4
		WHERE product_id = $1 AND name = $2`, productID, name, certPEM, certSHA256)
	if err != nil {
		return fmt.Errorf("replace certificate of %s/%s: %w", productID, name, err)
	}
	if n == 0 {
		return fmt.Errorf("replace certificate of %s/%s: %w", productID, name, registry.ErrDeviceNotFound)
	}
	return nil
}
