package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/thingo-iot/thingo/internal/gateway"
	"github.com/thingo-iot/thingo/internal/registry"
)

var _ gateway.Store = (*Store)(nil)

// AddSubProduct associates a product with a gateway product.
func (s *Store) AddSubProduct(ctx context.Context, sp gateway.SubProduct) error {
	_, err := s.db.Exec(ctx, `INSERT INTO gateway_sub_products (gateway_product_id, product_id, created_at)
		VALUES ($1, $2, $3) ON CONFLICT (gateway_product_id, product_id) DO NOTHING`,
		sp.GatewayProductID, sp.ProductID, millis(sp.CreatedAt))
	switch {
	case err == nil:
		return nil
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("associate %s with %s: %w", sp.ProductID, sp.GatewayProductID, registry.ErrProductNotFound)
	default:
		return fmt.Errorf("associate %s with %s: %w", sp.ProductID, sp.GatewayProductID, err)
	}
}

// RemoveSubProduct removes an association.
func (s *Store) RemoveSubProduct(ctx context.Context, gatewayProductID, productID string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM gateway_sub_products WHERE gateway_product_id = $1 AND product_id = $2`,
		gatewayProductID, productID); err != nil {
		return fmt.Errorf("dissociate %s from %s: %w", productID, gatewayProductID, err)
	}
	return nil
}

// ListSubProducts returns the products associated with a gateway product.
func (s *Store) ListSubProducts(ctx context.Context, gatewayProductID string) ([]gateway.SubProduct, error) {
	rows, err := s.db.Query(ctx, `SELECT product_id, created_at FROM gateway_sub_products
		WHERE gateway_product_id = $1 ORDER BY product_id`, gatewayProductID)
	if err != nil {
		return nil, fmt.Errorf("sub-products of %s: %w", gatewayProductID, err)
	}
	defer rows.Close()
	var out []gateway.SubProduct
	for rows.Next() {
		sp := gateway.SubProduct{GatewayProductID: gatewayProductID}
		var created int64
		if err := rows.Scan(&sp.ProductID, &created); err != nil {
			return nil, fmt.Errorf("sub-products of %s: %w", gatewayProductID, err)
		}
		sp.CreatedAt = fromMillis(created)
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sub-products of %s: %w", gatewayProductID, err)
	}
	return out, nil
}

// IsSubProduct reports whether productID is associated with the gateway
// product.
func (s *Store) IsSubProduct(ctx context.Context, gatewayProductID, productID string) (bool, error) {
	var n int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM gateway_sub_products
		WHERE gateway_product_id = $1 AND product_id = $2`, gatewayProductID, productID).Scan(&n); err != nil {
		return false, fmt.Errorf("sub-product %s of %s: %w", productID, gatewayProductID, err)
	}
	return n > 0, nil
}

// BindSubDevice binds a sub-device to a gateway device.
func (s *Store) BindSubDevice(ctx context.Context, b gateway.Binding, max int) error {
	err := s.db.Tx(ctx, func(tx DB) error {
		cur, err := getBinding(ctx, tx, b.ProductID, b.DeviceName)
		switch {
		case err == nil && cur.GatewayProductID == b.GatewayProductID && cur.GatewayName == b.GatewayName:
			return gateway.ErrAlreadyBound
		case err == nil:
			return gateway.ErrBoundElsewhere
		case !errors.Is(err, gateway.ErrNotBound):
			return err
		}
		if max > 0 {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM gateway_bindings
				WHERE gateway_product_id = $1 AND gateway_name = $2`, b.GatewayProductID, b.GatewayName).Scan(&n); err != nil {
				return err
			}
			if n >= int64(max) {
				return gateway.ErrTooManySubDevices
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO gateway_bindings
			(product_id, device_name, gateway_product_id, gateway_name, bound_at) VALUES ($1, $2, $3, $4, $5)`,
			b.ProductID, b.DeviceName, b.GatewayProductID, b.GatewayName, millis(b.BoundAt))
		return err
	})
	switch {
	case err == nil:
		return nil
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("bind %s/%s: %w", b.ProductID, b.DeviceName, registry.ErrDeviceNotFound)
	case s.db.Violation(err) == UniqueViolation:
		return fmt.Errorf("bind %s/%s: %w", b.ProductID, b.DeviceName, gateway.ErrBoundElsewhere)
	default:
		return fmt.Errorf("bind %s/%s to %s/%s: %w", b.ProductID, b.DeviceName, b.GatewayProductID, b.GatewayName, err)
	}
}

// UnbindSubDevice removes the binding of a sub-device to this gateway.
func (s *Store) UnbindSubDevice(ctx context.Context, gatewayProductID, gatewayName, productID, deviceName string) error {
	n, err := s.db.Exec(ctx, `DELETE FROM gateway_bindings WHERE product_id = $1 AND device_name = $2
		AND gateway_product_id = $3 AND gateway_name = $4`, productID, deviceName, gatewayProductID, gatewayName)
	if err != nil {
		return fmt.Errorf("unbind %s/%s: %w", productID, deviceName, err)
	}
	if n == 0 {
		return fmt.Errorf("unbind %s/%s from %s/%s: %w", productID, deviceName, gatewayProductID, gatewayName, gateway.ErrNotBound)
	}
	return nil
}

// GetBinding returns the binding of a sub-device.
func (s *Store) GetBinding(ctx context.Context, productID, deviceName string) (gateway.Binding, error) {
	b, err := getBinding(ctx, s.db, productID, deviceName)
	if err != nil {
		return gateway.Binding{}, fmt.Errorf("binding of %s/%s: %w", productID, deviceName, err)
	}
	return b, nil
}

func getBinding(ctx context.Context, db DB, productID, deviceName string) (gateway.Binding, error) {
	b := gateway.Binding{ProductID: productID, DeviceName: deviceName}
	var bound int64
	err := db.QueryRow(ctx, `SELECT gateway_product_id, gateway_name, bound_at FROM gateway_bindings
		WHERE product_id = $1 AND device_name = $2`, productID, deviceName).Scan(&b.GatewayProductID, &b.GatewayName, &bound)
	if errors.Is(err, ErrNoRows) {
		return gateway.Binding{}, gateway.ErrNotBound
	}
	if err != nil {
		return gateway.Binding{}, err
	}
	b.BoundAt = fromMillis(bound)
	return b, nil
}

// ListSubDevices returns one page of a gateway's sub-devices.
func (s *Store) ListSubDevices(ctx context.Context, gatewayProductID, gatewayName, productID string, offset, limit int) ([]gateway.Binding, int64, error) {
	where := `WHERE gateway_product_id = $1 AND gateway_name = $2 AND ($3 = '' OR product_id = $3)`
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM gateway_bindings `+where,
		gatewayProductID, gatewayName, productID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sub-devices of %s/%s: %w", gatewayProductID, gatewayName, err)
	}
	q := `SELECT product_id, device_name, bound_at FROM gateway_bindings ` + where +
		` ORDER BY bound_at, product_id, device_name LIMIT $4 OFFSET $5`
	args := []any{gatewayProductID, gatewayName, productID, limitOrMax(limit), int64(offset)}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sub-devices of %s/%s: %w", gatewayProductID, gatewayName, err)
	}
	defer rows.Close()
	var out []gateway.Binding
	for rows.Next() {
		b := gateway.Binding{GatewayProductID: gatewayProductID, GatewayName: gatewayName}
		var bound int64
		if err := rows.Scan(&b.ProductID, &b.DeviceName, &bound); err != nil {
			return nil, 0, fmt.Errorf("sub-devices of %s/%s: %w", gatewayProductID, gatewayName, err)
		}
		b.BoundAt = fromMillis(bound)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sub-devices of %s/%s: %w", gatewayProductID, gatewayName, err)
	}
	return out, total, nil
}
