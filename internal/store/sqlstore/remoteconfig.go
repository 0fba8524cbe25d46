package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/thingo-iot/thingo/internal/registry"
	"github.com/thingo-iot/thingo/internal/remoteconfig"
)

var _ remoteconfig.Store = (*Store)(nil)

// PutRemoteConfig creates or replaces a product configuration (DeviceName
// "") or a device override.
func (s *Store) PutRemoteConfig(ctx context.Context, r remoteconfig.Record) error {
	var err error
	if r.DeviceName == "" {
		_, err = s.db.Exec(ctx, `INSERT INTO product_remote_configs (product_id, enabled, payload, updated_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (product_id) DO UPDATE SET enabled = excluded.enabled, payload = excluded.payload,
				updated_at = excluded.updated_at`,
			r.ProductID, boolInt(r.Enabled), string(r.Payload), millis(r.UpdatedAt))
	} else {
		_, err = s.db.Exec(ctx, `INSERT INTO device_remote_configs (product_id, device_name, enabled, payload, updated_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (product_id, device_name) DO UPDATE SET enabled = excluded.enabled,
				payload = excluded.payload, updated_at = excluded.updated_at`,
			r.ProductID, r.DeviceName, boolInt(r.Enabled), string(r.Payload), millis(r.UpdatedAt))
	}
	switch {
	case err == nil:
		return nil
	case s.db.Violation(err) == ForeignKeyViolation && r.DeviceName == "":
		return fmt.Errorf("put remote config of %s: %w", r.ProductID, registry.ErrProductNotFound)
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("put remote config of %s/%s: %w", r.ProductID, r.DeviceName, registry.ErrDeviceNotFound)
	default:
		return fmt.Errorf("put remote config of %s/%s: %w", r.ProductID, r.DeviceName, err)
	}
}

// GetRemoteConfig returns the configuration at one level or
// remoteconfig.ErrNotFound.
func (s *Store) GetRemoteConfig(ctx context.Context, productID, deviceName string) (remoteconfig.Record, error) {
	r := remoteconfig.Record{ProductID: productID, DeviceName: deviceName}
	var enabled, updated int64
	var payload string
	var row Row
	if deviceName == "" {
		row = s.db.QueryRow(ctx, `SELECT enabled, payload, updated_at FROM product_remote_configs
			WHERE product_id = $1`, productID)
	} else {
		row = s.db.QueryRow(ctx, `SELECT enabled, payload, updated_at FROM device_remote_configs
			WHERE product_id = $1 AND device_name = $2`, productID, deviceName)
	}
	err := row.Scan(&enabled, &payload, &updated)
	if errors.Is(err, ErrNoRows) {
		return remoteconfig.Record{}, fmt.Errorf("remote config of %s/%s: %w", productID, deviceName, remoteconfig.ErrNotFound)
	}
	if err != nil {
		return remoteconfig.Record{}, fmt.Errorf("remote config of %s/%s: %w", productID, deviceName, err)
	}
	r.Enabled, r.Payload, r.UpdatedAt = enabled != 0, []byte(payload), fromMillis(updated)
	return r, nil
}

// DeleteRemoteConfig removes the configuration at one level.
func (s *Store) DeleteRemoteConfig(ctx context.Context, productID, deviceName string) error {
	var n int64
	var err error
	if deviceName == "" {
		n, err = s.db.Exec(ctx, `DELETE FROM product_remote_configs WHERE product_id = $1`, productID)
	} else {
		n, err = s.db.Exec(ctx, `DELETE FROM device_remote_configs WHERE product_id = $1 AND device_name = $2`,
			productID, deviceName)
	}
	if err != nil {
		return fmt.Errorf("delete remote config of %s/%s: %w", productID, deviceName, err)
	}
	if n == 0 {
		return fmt.Errorf("delete remote config of %s/%s: %w", productID, deviceName, remoteconfig.ErrNotFound)
	}
	return nil
}
