package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/thingo-iot/thingo/internal/ota"
	"github.com/thingo-iot/thingo/internal/registry"
)

var _ ota.ResourceStore = (*Store)(nil)

const deviceResourceCols = `product_id, device_name, name, type, version, md5, size, blob_key, state, percent, result_code, result_msg, updated_at`

func scanDeviceResource(row Row) (ota.DeviceResource, error) {
	var r ota.DeviceResource
	var updated int64
	err := row.Scan(&r.ProductID, &r.DeviceName, &r.Name, &r.Type, &r.Version, &r.MD5, &r.Size, &r.BlobKey, &r.State,
		&r.Percent, &r.ResultCode, &r.ResultMsg, &updated)
	r.UpdatedAt = fromMillis(updated)
	return r, err
}

// PutDeviceResource inserts or replaces a device's resource entry.
func (s *Store) PutDeviceResource(ctx context.Context, r ota.DeviceResource) error {
	_, err := s.db.Exec(ctx, `INSERT INTO device_resources (`+deviceResourceCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (product_id, device_name, name) DO UPDATE SET type = excluded.type, version = excluded.version,
			md5 = excluded.md5, size = excluded.size, blob_key = excluded.blob_key, state = excluded.state,
			percent = excluded.percent, result_code = excluded.result_code, result_msg = excluded.result_msg,
			updated_at = excluded.updated_at`,
		r.ProductID, r.DeviceName, r.Name, r.Type, r.Version, r.MD5, r.Size, r.BlobKey, r.State,
		r.Percent, r.ResultCode, r.ResultMsg, millis(r.UpdatedAt))
	switch {
	case err == nil:
		return nil
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("resource of %s/%s: %w", r.ProductID, r.DeviceName, registry.ErrDeviceNotFound)
	default:
		return fmt.Errorf("put resource %s of %s/%s: %w", r.Name, r.ProductID, r.DeviceName, err)
	}
}

// GetDeviceResource returns an entry or ota.ErrResourceNotFound.
func (s *Store) GetDeviceResource(ctx context.Context, productID, deviceName, name string) (ota.DeviceResource, error) {
	r, err := scanDeviceResource(s.db.QueryRow(ctx, `SELECT `+deviceResourceCols+` FROM device_resources
		WHERE product_id = $1 AND device_name = $2 AND name = $3`, productID, deviceName, name))
	if errors.Is(err, ErrNoRows) {
		return ota.DeviceResource{}, fmt.Errorf("resource %s of %s/%s: %w", name, productID, deviceName, ota.ErrResourceNotFound)
	}
	if err != nil {
		return ota.DeviceResource{}, fmt.Errorf("resource %s of %s/%s: %w", name, productID, deviceName, err)
	}
	return r, nil
}

// ListDeviceResources lists a device's entries by name.
func (s *Store) ListDeviceResources(ctx context.Context, productID, deviceName string) ([]ota.DeviceResource, error) {
	rows, err := s.db.Query(ctx, `SELECT `+deviceResourceCols+` FROM device_resources
		WHERE product_id = $1 AND device_name = $2 ORDER BY name`, productID, deviceName)
	if err != nil {
		return nil, fmt.Errorf("list resources of %s/%s: %w", productID, deviceName, err)
	}
	defer rows.Close()
	var out []ota.DeviceResource
	for rows.Next() {
		r, err := scanDeviceResource(rows)
		if err != nil {
			return nil, fmt.Errorf("list resources of %s/%s: %w", productID, deviceName, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteDeviceResource removes an entry; a missing one is no error.
func (s *Store) DeleteDeviceResource(ctx context.Context, productID, deviceName, name string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM device_resources WHERE product_id = $1 AND device_name = $2 AND name = $3`,
		productID, deviceName, name); err != nil {
		return fmt.Errorf("delete resource %s of %s/%s: %w", name, productID, deviceName, err)
	}
	return nil
}

const uploadCols = `token, product_id, device_name, name, type, version, blob_key, state, md5, size, result_code, result_msg, created_at, updated_at`

func scanUpload(row Row) (ota.ResourceUpload, error) {
	var u ota.ResourceUpload
	var created, updated int64
	err := row.Scan(&u.Token, &u.ProductID, &u.DeviceName, &u.Name, &u.Type, &u.Version, &u.BlobKey, &u.State, &u.MD5, &u.Size,
		&u.ResultCode, &u.ResultMsg, &created, &updated)
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	return u, err
}

// PutResourceUpload inserts or replaces an upload by token.
func (s *Store) PutResourceUpload(ctx context.Context, u ota.ResourceUpload) error {
	_, err := s.db.Exec(ctx, `INSERT INTO resource_uploads (`+uploadCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (token) DO UPDATE SET state = excluded.state, md5 = excluded.md5, size = excluded.size,
			result_code = excluded.result_code, result_msg = excluded.result_msg, updated_at = excluded.updated_at`,
		u.Token, u.ProductID, u.DeviceName, u.Name, u.Type, u.Version, u.BlobKey, u.State, u.MD5, u.Size,
		u.ResultCode, u.ResultMsg, millis(u.CreatedAt), millis(u.UpdatedAt))
	switch {
	case err == nil:
		return nil
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("upload of %s/%s: %w", u.ProductID, u.DeviceName, registry.ErrDeviceNotFound)
	default:
		return fmt.Errorf("put upload %s: %w", u.Token, err)
	}
}

// GetResourceUpload returns an upload or ota.ErrUploadNotFound.
func (s *Store) GetResourceUpload(ctx context.Context, token string) (ota.ResourceUpload, error) {
	u, err := scanUpload(s.db.QueryRow(ctx, `SELECT `+uploadCols+` FROM resource_uploads WHERE token = $1`, token))
	if errors.Is(err, ErrNoRows) {
		return ota.ResourceUpload{}, fmt.Errorf("upload %s: %w", token, ota.ErrUploadNotFound)
	}
	if err != nil {
		return ota.ResourceUpload{}, fmt.Errorf("upload %s: %w", token, err)
	}
	return u, nil
}

// ListResourceUploads lists a device's uploads, newest first (at most 1000).
func (s *Store) ListResourceUploads(ctx context.Context, productID, deviceName string) ([]ota.ResourceUpload, error) {
	rows, err := s.db.Query(ctx, `SELECT `+uploadCols+` FROM resource_uploads
		WHERE product_id = $1 AND device_name = $2 ORDER BY created_at DESC, token LIMIT 1000`, productID, deviceName)
	if err != nil {
		return nil, fmt.Errorf("list uploads of %s/%s: %w", productID, deviceName, err)
	}
	defer rows.Close()
	var out []ota.ResourceUpload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("list uploads of %s/%s: %w", productID, deviceName, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
