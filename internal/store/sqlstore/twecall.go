package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/twecall"
)

var _ twecall.Store = (*Store)(nil)

// PutLicensePool creates or updates a TWecall license pool (Used is kept).
func (s *Store) PutLicensePool(ctx context.Context, p twecall.Pool) error {
	_, err := s.db.Exec(ctx, `INSERT INTO twecall_pools (product_id, pkg_type, total, used, valid_days, updated_at)
		VALUES ($1, $2, $3, 0, $4, $5)
		ON CONFLICT (product_id, pkg_type) DO UPDATE SET total = excluded.total, valid_days = excluded.valid_days,
			updated_at = excluded.updated_at`,
		p.ProductID, p.PkgType, p.Total, p.ValidDays, millis(p.UpdatedAt))
	switch {
	case err == nil:
		return nil
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("put license pool of %s: %w", p.ProductID, registry.ErrProductNotFound)
	default:
		return fmt.Errorf("put license pool of %s: %w", p.ProductID, err)
	}
}

// ListLicensePools returns a product's pools by package type.
func (s *Store) ListLicensePools(ctx context.Context, productID string) ([]twecall.Pool, error) {
	rows, err := s.db.Query(ctx, `SELECT pkg_type, total, used, valid_days, updated_at FROM twecall_pools
		WHERE product_id = $1 ORDER BY pkg_type`, productID)
	if err != nil {
		return nil, fmt.Errorf("list license pools of %s: %w", productID, err)
	}
	defer rows.Close()
	var out []twecall.Pool
	for rows.Next() {
		p := twecall.Pool{ProductID: productID}
		var updated int64
		if err := rows.Scan(&p.PkgType, &p.Total, &p.Used, &p.ValidDays, &updated); err != nil {
			return nil, fmt.Errorf("list license pools of %s: %w", productID, err)
		}
		p.UpdatedAt = fromMillis(updated)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list license pools of %s: %w", productID, err)
	}
	return out, nil
}

// ActivateLicense takes one license of a.PkgType and records a, in one
// transaction.
func (s *Store) ActivateLicense(ctx context.Context, a twecall.Activation) error {
	err := s.db.Tx(ctx, func(tx DB) error {
		n, err := tx.Exec(ctx, `UPDATE twecall_pools SET used = used + 1
			WHERE product_id = $1 AND pkg_type = $2 AND used < total`, a.ProductID, a.PkgType)
		if err != nil {
			return err
		}
		if n == 0 {
			return twecall.ErrNoLicense
		}
		_, err = tx.Exec(ctx, `INSERT INTO twecall_activations
			(product_id, device_name, pkg_type, model_id, sn, activated_at, expire_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (product_id, device_name) DO UPDATE SET pkg_type = excluded.pkg_type,
				model_id = excluded.model_id, sn = excluded.sn, activated_at = excluded.activated_at,
				expire_at = excluded.expire_at`,
			a.ProductID, a.DeviceName, a.PkgType, a.ModelID, a.SN, millis(a.ActivatedAt), millis(a.ExpireAt))
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, twecall.ErrNoLicense):
		return fmt.Errorf("activate license of %s/%s: %w", a.ProductID, a.DeviceName, err)
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("activate license of %s/%s: %w", a.ProductID, a.DeviceName, registry.ErrDeviceNotFound)
	default:
		return fmt.Errorf("activate license of %s/%s: %w", a.ProductID, a.DeviceName, err)
	}
}

// GetActivation returns the device's activation or twecall.ErrNotActivated.
func (s *Store) GetActivation(ctx context.Context, productID, deviceName string) (twecall.Activation, error) {
	a := twecall.Activation{ProductID: productID, DeviceName: deviceName}
	var activated, expire int64
	err := s.db.QueryRow(ctx, `SELECT pkg_type, model_id, sn, activated_at, expire_at FROM twecall_activations
		WHERE product_id = $1 AND device_name = $2`, productID, deviceName).
		Scan(&a.PkgType, &a.ModelID, &a.SN, &activated, &expire)
	if errors.Is(err, ErrNoRows) {
		return twecall.Activation{}, fmt.Errorf("activation of %s/%s: %w", productID, deviceName, twecall.ErrNotActivated)
	}
	if err != nil {
		return twecall.Activation{}, fmt.Errorf("activation of %s/%s: %w", productID, deviceName, err)
	}
	a.ActivatedAt, a.ExpireAt = fromMillis(activated), fromMillis(expire)
	return a, nil
}
