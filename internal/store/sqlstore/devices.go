package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/thingo-iot/thingo/internal/registry"
)

// noFirmwareVersion is the DeviceFilter.FirmwareVersion value that selects
// devices which never reported a version (Tencent's GetDeviceList).
const noFirmwareVersion = "None-FirmwareVersion"

const deviceCols = `d.product_id, d.name, d.sealed_psk, d.cert_pem, d.cert_sha256, d.enable_state,
	d.log_level, d.version, d.created_at, d.online, d.first_online, d.last_login, d.last_logout,
	d.client_ip, d.protocol_level, d.keep_alive`

func scanDevice(row Row) (registry.Device, error) {
	var d registry.Device
	var enable, logLevel, created, online, first, login, logout, proto, keepAlive int64
	err := row.Scan(&d.ProductID, &d.Name, &d.SealedPSK, &d.CertPEM, &d.CertSHA256, &enable,
		&logLevel, &d.Version, &created, &online, &first, &login, &logout,
		&d.Presence.ClientIP, &proto, &keepAlive)
	if err != nil {
		return registry.Device{}, err
	}
	if len(d.SealedPSK) == 0 {
		d.SealedPSK = nil
	}
	d.EnableState, d.LogLevel = int(enable), int(logLevel)
	d.CreatedAt = fromMillis(created)
	d.Presence.Online = online != 0
	d.Presence.FirstOnline = fromMillis(first)
	d.Presence.LastLogin = fromMillis(login)
	d.Presence.LastLogout = fromMillis(logout)
	d.Presence.ProtocolLevel, d.Presence.KeepAlive = int(proto), int(keepAlive)
	return d, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// CreateDevice inserts d with its presence. It fails with
// registry.ErrProductNotFound when the product is unknown and
// registry.ErrDeviceExists when the name is taken in the product.
func (s *Store) CreateDevice(ctx context.Context, d registry.Device) error {
	return insertDevice(ctx, s.db, d)
}

// insertDevice is CreateDevice on db (the store or a transaction).
func insertDevice(ctx context.Context, db DB, d registry.Device) error {
	psk := d.SealedPSK
	if psk == nil {
		psk = []byte{}
	}
	p := d.Presence
	_, err := db.Exec(ctx, `INSERT INTO devices (product_id, name, sealed_psk, cert_pem, cert_sha256,
			enable_state, log_level, version, created_at, online, first_online, last_login, last_logout,
			client_ip, protocol_level, keep_alive)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		d.ProductID, d.Name, psk, d.CertPEM, d.CertSHA256, int64(d.EnableState), int64(d.LogLevel),
		d.Version, millis(d.CreatedAt), boolInt(p.Online), millis(p.FirstOnline), millis(p.LastLogin),
		millis(p.LastLogout), p.ClientIP, int64(p.ProtocolLevel), int64(p.KeepAlive))
	switch {
	case err == nil:
		return nil
	case db.Violation(err) == UniqueViolation:
		return fmt.Errorf("create device %s/%s: %w", d.ProductID, d.Name, registry.ErrDeviceExists)
	case db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("create device %s/%s: %w", d.ProductID, d.Name, registry.ErrProductNotFound)
	default:
		return fmt.Errorf("create device %s/%s: %w", d.ProductID, d.Name, err)
	}
}

// GetDevice returns a device or registry.ErrDeviceNotFound. It is a single
// primary-key lookup: it runs at every MQTT CONNECT.
func (s *Store) GetDevice(ctx context.Context, productID, name string) (registry.Device, error) {
	d, err := scanDevice(s.db.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices d
		WHERE d.product_id = $1 AND d.name = $2`, productID, name))
	if errors.Is(err, ErrNoRows) {
		return registry.Device{}, fmt.Errorf("get device %s/%s: %w", productID, name, registry.ErrDeviceNotFound)
	}
	if err != nil {
		return registry.Device{}, fmt.Errorf("get device %s/%s: %w", productID, name, err)
	}
	return d, nil
}

// ListDevices returns one page of the devices matching f and their total.
// NameContains matches case-insensitively anywhere in the device name.
func (s *Store) ListDevices(ctx context.Context, f registry.DeviceFilter) ([]registry.Device, int64, error) {
	from := ` FROM devices d`
	var w where
	if f.ProjectID != "" {
		from += ` JOIN products p ON p.id = d.product_id`
		w.add("p.project_id = ?", f.ProjectID)
	}
	if f.ProductID != "" {
		w.add("d.product_id = ?", f.ProductID)
	}
	if f.NameContains != "" {
		w.add(`LOWER(d.name) LIKE ? ESCAPE '\'`, likeContains(f.NameContains))
	}
	switch f.FirmwareVersion {
	case "":
	case noFirmwareVersion:
		w.add("d.version = ''")
	default:
		w.add("d.version = ?", f.FirmwareVersion)
	}
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*)`+from+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count devices: %w", err)
	}
	limit, args := w.page(f.Offset, f.Limit)
	rows, err := s.db.Query(ctx, `SELECT `+deviceCols+from+w.String()+
		` ORDER BY d.created_at, d.product_id, d.name`+limit, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var out []registry.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list devices: %w", err)
	}
	return out, total, nil
}

// execDevice runs a statement on one device row (the statement's $1 and $2
// are the product id and device name) and maps "no row" to
// registry.ErrDeviceNotFound.
func (s *Store) execDevice(ctx context.Context, op, productID, name, query string, args ...any) error {
	n, err := s.db.Exec(ctx, query, append([]any{productID, name}, args...)...)
	if err != nil {
		return fmt.Errorf("%s %s/%s: %w", op, productID, name, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %s/%s: %w", op, productID, name, registry.ErrDeviceNotFound)
	}
	return nil
}

// DeleteDevice removes a device.
func (s *Store) DeleteDevice(ctx context.Context, productID, name string) error {
	return s.execDevice(ctx, "delete device", productID, name,
		`DELETE FROM devices WHERE product_id = $1 AND name = $2`)
}

// SetDeviceEnabled sets the device's enable state.
func (s *Store) SetDeviceEnabled(ctx context.Context, productID, name string, state int) error {
	return s.execDevice(ctx, "set device enabled", productID, name,
		`UPDATE devices SET enable_state = $3 WHERE product_id = $1 AND name = $2`, int64(state))
}

// recordConnectSQL and recordDisconnectSQL update one device ($1 product id,
// $2 name); RecordPresence runs the same statements as the single-row
// methods so that both use the same prepared statements.
const (
	recordConnectSQL = `UPDATE devices SET online = 1,
			first_online = CASE WHEN first_online = 0 THEN $3 ELSE first_online END,
			last_login = $4, client_ip = $5, protocol_level = $6, keep_alive = $7
		WHERE product_id = $1 AND name = $2`
	recordDisconnectSQL = `UPDATE devices SET online = 0, last_logout = $3 WHERE product_id = $1 AND name = $2`
)

// connectArgs are recordConnectSQL's arguments after the device key.
// FirstOnline is p.FirstOnline or, when that is zero, p.LastLogin.
func connectArgs(p registry.Presence) []any {
	first := p.FirstOnline
	if first.IsZero() {
		first = p.LastLogin
	}
	return []any{millis(first), millis(p.LastLogin), p.ClientIP, int64(p.ProtocolLevel), int64(p.KeepAlive)}
}

// RecordConnect marks the device online and records p's LastLogin, ClientIP,
// ProtocolLevel and KeepAlive. FirstOnline is set only if still unset, to
// p.FirstOnline or, when that is zero, p.LastLogin.
func (s *Store) RecordConnect(ctx context.Context, productID, name string, p registry.Presence) error {
	return s.execDevice(ctx, "record connect", productID, name, recordConnectSQL, connectArgs(p)...)
}

// RecordDisconnect marks the device offline at the given time.
func (s *Store) RecordDisconnect(ctx context.Context, productID, name string, at time.Time) error {
	return s.execDevice(ctx, "record disconnect", productID, name, recordDisconnectSQL, millis(at))
}

// RecordPresence applies changes in order in one transaction, each as
// RecordConnect or RecordDisconnect does. A change that matches no device is
// skipped.
func (s *Store) RecordPresence(ctx context.Context, changes []registry.PresenceChange) error {
	var err error
	switch len(changes) {
	case 0:
		return nil
	case 1: // one statement is atomic on its own
		err = recordPresence(ctx, s.db, changes[0])
	default:
		err = s.db.Tx(ctx, func(tx DB) error {
			for _, c := range changes {
				if err := recordPresence(ctx, tx, c); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("record presence: %w", err)
	}
	return nil
}

// recordPresence applies one change on db; no matching row is not an error.
func recordPresence(ctx context.Context, db DB, c registry.PresenceChange) error {
	var err error
	if c.Online {
		_, err = db.Exec(ctx, recordConnectSQL, append([]any{c.ProductID, c.Name}, connectArgs(c.Presence)...)...)
	} else {
		_, err = db.Exec(ctx, recordDisconnectSQL, c.ProductID, c.Name, millis(c.At))
	}
	if err != nil {
		return fmt.Errorf("%s/%s: %w", c.ProductID, c.Name, err)
	}
	return nil
}

// ResetPresence marks every online device offline at the given time.
func (s *Store) ResetPresence(ctx context.Context, at time.Time) error {
	if _, err := s.db.Exec(ctx, `UPDATE devices SET online = 0, last_logout = $1 WHERE online = 1`, millis(at)); err != nil {
		return fmt.Errorf("reset presence: %w", err)
	}
	return nil
}

// DeviceStats counts the devices of a project, or only of productIDs within
// it when not empty. "Activated" uses the first connection time, "Active" the
// last login; windows are [now-24h, ∞), [now-7d, ∞) and [now-14d, now-7d).
// An unknown project gives registry.ErrProjectNotFound.
func (s *Store) DeviceStats(ctx context.Context, projectID string, productIDs []string, now time.Time) (registry.DeviceStats, error) {
	day := now.Add(-24 * time.Hour).UnixMilli()
	week := now.Add(-7 * 24 * time.Hour).UnixMilli()
	fortnight := now.Add(-14 * 24 * time.Hour).UnixMilli()
	args := []any{projectID, day, week, fortnight}
	var inProducts string
	if len(productIDs) > 0 {
		ph := make([]string, len(productIDs))
		for i, id := range productIDs {
			args = append(args, id)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		inProducts = ` AND d.product_id IN (` + strings.Join(ph, ", ") + `)`
	}
	var st registry.DeviceStats
	err := s.db.QueryRow(ctx, `SELECT
			COUNT(CASE WHEN d.first_online <> 0 THEN 1 END),
			COUNT(CASE WHEN d.online <> 0 THEN 1 END),
			COUNT(CASE WHEN d.first_online <> 0 AND d.first_online >= $2 THEN 1 END),
			COUNT(CASE WHEN d.last_login <> 0 AND d.last_login >= $2 THEN 1 END),
			COUNT(CASE WHEN d.first_online <> 0 AND d.first_online >= $3 THEN 1 END),
			COUNT(CASE WHEN d.last_login <> 0 AND d.last_login >= $3 THEN 1 END),
			COUNT(CASE WHEN d.first_online <> 0 AND d.first_online >= $4 AND d.first_online < $3 THEN 1 END),
			COUNT(CASE WHEN d.last_login <> 0 AND d.last_login >= $4 AND d.last_login < $3 THEN 1 END)
		FROM projects pr
		LEFT JOIN products p ON p.project_id = pr.id
		LEFT JOIN devices d ON d.product_id = p.id`+inProducts+`
		WHERE pr.id = $1
		GROUP BY pr.id`, args...).Scan(&st.Activated, &st.Online, &st.ActivatedSince1Day, &st.ActiveSince1Day,
		&st.ActivatedSince7Days, &st.ActiveSince7Days, &st.ActivatedPrev7Days, &st.ActivePrev7Days)
	if errors.Is(err, ErrNoRows) {
		return registry.DeviceStats{}, fmt.Errorf("device stats of project %q: %w", projectID, registry.ErrProjectNotFound)
	}
	if err != nil {
		return registry.DeviceStats{}, fmt.Errorf("device stats of project %q: %w", projectID, err)
	}
	return st, nil
}
