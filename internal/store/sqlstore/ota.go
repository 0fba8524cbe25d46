package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/thingo-iot/thingo/internal/ota"
	"github.com/thingo-iot/thingo/internal/registry"
)

var _ ota.Store = (*Store)(nil)

const firmwareCols = `product_id, version, name, description, md5, size, fw_type, user_defined, blob_key, created_at`

func scanFirmware(row Row) (ota.Firmware, error) {
	var f ota.Firmware
	var created int64
	err := row.Scan(&f.ProductID, &f.Version, &f.Name, &f.Description, &f.MD5, &f.Size, &f.FwType, &f.UserDefined, &f.BlobKey, &created)
	f.CreatedAt = fromMillis(created)
	return f, err
}

// CreateFirmware stores a firmware version.
func (s *Store) CreateFirmware(ctx context.Context, f ota.Firmware) error {
	_, err := s.db.Exec(ctx, `INSERT INTO firmwares (`+firmwareCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		f.ProductID, f.Version, f.Name, f.Description, f.MD5, f.Size, f.FwType, f.UserDefined, f.BlobKey, millis(f.CreatedAt))
	switch {
	case err == nil:
		return nil
	case s.db.Violation(err) == UniqueViolation:
		return fmt.Errorf("firmware %s/%s: %w", f.ProductID, f.Version, ota.ErrFirmwareExists)
	case s.db.Violation(err) == ForeignKeyViolation:
		return fmt.Errorf("firmware %s/%s: %w", f.ProductID, f.Version, registry.ErrProductNotFound)
	default:
		return fmt.Errorf("create firmware %s/%s: %w", f.ProductID, f.Version, err)
	}
}

// GetFirmware returns a firmware version or ota.ErrFirmwareNotFound.
func (s *Store) GetFirmware(ctx context.Context, productID, version string) (ota.Firmware, error) {
	f, err := scanFirmware(s.db.QueryRow(ctx, `SELECT `+firmwareCols+` FROM firmwares WHERE product_id = $1 AND version = $2`, productID, version))
	if errors.Is(err, ErrNoRows) {
		return ota.Firmware{}, fmt.Errorf("firmware %s/%s: %w", productID, version, ota.ErrFirmwareNotFound)
	}
	if err != nil {
		return ota.Firmware{}, fmt.Errorf("firmware %s/%s: %w", productID, version, err)
	}
	return f, nil
}

// ListFirmwares lists firmware, newest first; productID "" lists all.
func (s *Store) ListFirmwares(ctx context.Context, productID string, offset, limit int) ([]ota.Firmware, int64, error) {
	var w where
	if productID != "" {
		w.add("product_id = ?", productID)
	}
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM firmwares`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count firmwares: %w", err)
	}
	pg, args := w.page(offset, limit)
	rows, err := s.db.Query(ctx, `SELECT `+firmwareCols+` FROM firmwares`+w.String()+` ORDER BY created_at DESC, version DESC`+pg, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list firmwares: %w", err)
	}
	defer rows.Close()
	var out []ota.Firmware
	for rows.Next() {
		f, err := scanFirmware(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list firmwares: %w", err)
		}
		out = append(out, f)
	}
	return out, total, rows.Err()
}

const taskCols = `t.id, t.product_id, t.version, t.ori_version, t.upgrade_mode, t.fw_type, t.type, t.upgrade_method,
	t.timeout_s, t.max_retry, t.retry_ms, t.rate_limit, t.rollout_batch, t.pause_fail_pct, t.override_mode, t.user_define, t.status, t.delay_until,
	t.created_at, t.updated_at, (SELECT COUNT(*) FROM firmware_task_devices d WHERE d.task_id = t.id),
	COALESCE((SELECT f.size FROM firmwares f WHERE f.product_id = t.product_id AND f.version = t.version), 0)`

func scanTask(row Row) (ota.Task, error) {
	var t ota.Task
	var retry, delay, created, updated int64
	err := row.Scan(&t.ID, &t.ProductID, &t.Version, &t.OriVersion, &t.UpgradeMode, &t.FwType, &t.Type, &t.UpgradeMethod,
		&t.TimeoutSeconds, &t.MaxRetry, &retry, &t.RateLimit, &t.RolloutBatch, &t.PauseFailurePct, &t.OverrideMode, &t.UserDefine, &t.Status, &delay,
		&created, &updated, &t.Total, &t.FileSize)
	t.RetryInterval = time.Duration(retry) * time.Millisecond
	t.DelayUntil, t.CreatedAt, t.UpdatedAt = fromMillis(delay), fromMillis(created), fromMillis(updated)
	t.CronTime = t.DelayUntil
	return t, err
}

// CreateTask stores a task and its devices in one transaction.
func (s *Store) CreateTask(ctx context.Context, t ota.Task, devices []ota.TaskDevice) (int64, error) {
	var id int64
	err := s.db.Tx(ctx, func(tx DB) error {
		if err := tx.QueryRow(ctx, `INSERT INTO firmware_tasks (product_id, version, ori_version, upgrade_mode, fw_type, type,
				upgrade_method, timeout_s, max_retry, retry_ms, rate_limit, override_mode, user_define, status, delay_until,
				created_at, updated_at, rollout_batch, pause_fail_pct)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id`,
			t.ProductID, t.Version, t.OriVersion, t.UpgradeMode, t.FwType, t.Type, t.UpgradeMethod, t.TimeoutSeconds,
			t.MaxRetry, t.RetryInterval.Milliseconds(), t.RateLimit, t.OverrideMode, t.UserDefine, t.Status,
			millis(t.DelayUntil), millis(t.CreatedAt), millis(t.UpdatedAt), t.RolloutBatch, t.PauseFailurePct).Scan(&id); err != nil {
			return err
		}
		for _, d := range devices {
			d.TaskID = id
			if err := insertTaskDevice(ctx, tx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if s.db.Violation(err) == ForeignKeyViolation {
			return 0, fmt.Errorf("create firmware task: %w", registry.ErrProductNotFound)
		}
		return 0, fmt.Errorf("create firmware task: %w", err)
	}
	return id, nil
}

func insertTaskDevice(ctx context.Context, tx DB, d ota.TaskDevice) error {
	_, err := tx.Exec(ctx, `INSERT INTO firmware_task_devices (task_id, product_id, device_name, ori_version, dst_version,
			state, percent, ret_code, err_msg, retries, pushes, next_at, deadline, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		d.TaskID, d.ProductID, d.DeviceName, d.OriVersion, d.DstVersion, string(d.State), d.Percent, d.RetCode, d.ErrMsg,
		d.Retries, d.Pushes, millis(d.NextAt), millis(d.Deadline), millis(d.UpdatedAt))
	return err
}

// GetTask returns a task or ota.ErrTaskNotFound.
func (s *Store) GetTask(ctx context.Context, id int64) (ota.Task, error) {
	t, err := scanTask(s.db.QueryRow(ctx, `SELECT `+taskCols+` FROM firmware_tasks t WHERE t.id = $1`, id))
	if errors.Is(err, ErrNoRows) {
		return ota.Task{}, fmt.Errorf("firmware task %d: %w", id, ota.ErrTaskNotFound)
	}
	if err != nil {
		return ota.Task{}, fmt.Errorf("firmware task %d: %w", id, err)
	}
	return t, nil
}

// ListTasks lists a product's tasks, newest first; version "" lists all.
func (s *Store) ListTasks(ctx context.Context, productID, version string, offset, limit int) ([]ota.Task, int64, error) {
	var w where
	w.add("t.product_id = ?", productID)
	if version != "" {
		w.add("t.version = ?", version)
	}
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM firmware_tasks t`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count firmware tasks: %w", err)
	}
	pg, args := w.page(offset, limit)
	rows, err := s.db.Query(ctx, `SELECT `+taskCols+` FROM firmware_tasks t`+w.String()+` ORDER BY t.id DESC`+pg, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list firmware tasks: %w", err)
	}
	defer rows.Close()
	var out []ota.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list firmware tasks: %w", err)
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// SetTaskStatus sets a task's status; TaskCanceled also cancels its
// unfinished devices.
func (s *Store) SetTaskStatus(ctx context.Context, id, status int64, at time.Time) error {
	err := s.db.Tx(ctx, func(tx DB) error {
		n, err := tx.Exec(ctx, `UPDATE firmware_tasks SET status = $1, updated_at = $2 WHERE id = $3`, status, millis(at), id)
		if err != nil {
			return err
		}
		if n == 0 {
			return ota.ErrTaskNotFound
		}
		if status == ota.TaskCanceled {
			_, err = tx.Exec(ctx, `UPDATE firmware_task_devices SET state = $1, updated_at = $2, deadline = 0
				WHERE task_id = $3 AND state NOT IN ('done', 'failed', 'canceled')`, string(ota.StateCanceled), millis(at), id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("set firmware task %d status: %w", id, err)
	}
	return nil
}

const taskDeviceCols = `d.task_id, d.product_id, d.device_name, d.ori_version, d.dst_version, d.state, d.percent, d.ret_code,
	d.err_msg, d.retries, d.pushes, d.next_at, d.deadline, d.updated_at`

func scanTaskDevice(row Row) (ota.TaskDevice, error) {
	var d ota.TaskDevice
	var state string
	var next, deadline, updated int64
	err := row.Scan(&d.TaskID, &d.ProductID, &d.DeviceName, &d.OriVersion, &d.DstVersion, &state, &d.Percent, &d.RetCode,
		&d.ErrMsg, &d.Retries, &d.Pushes, &next, &deadline, &updated)
	d.State = ota.State(state)
	d.NextAt, d.Deadline, d.UpdatedAt = fromMillis(next), fromMillis(deadline), fromMillis(updated)
	return d, err
}

func (s *Store) queryTaskDevices(ctx context.Context, query string, args ...any) ([]ota.TaskDevice, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ota.TaskDevice
	for rows.Next() {
		d, err := scanTaskDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ListTaskDevices lists devices of tasks, newest task first, then by name.
func (s *Store) ListTaskDevices(ctx context.Context, f ota.TaskDeviceFilter) ([]ota.TaskDevice, int64, error) {
	var w where
	w.add("d.product_id = ?", f.ProductID)
	if f.Version != "" {
		w.add("d.dst_version = ?", f.Version)
	}
	if f.TaskID != 0 {
		w.add("d.task_id = ?", f.TaskID)
	}
	if f.DeviceName != "" {
		w.add("d.device_name = ?", f.DeviceName)
	}
	var total int64
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM firmware_task_devices d`+w.String(), w.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count firmware task devices: %w", err)
	}
	pg, args := w.page(f.Offset, f.Limit)
	out, err := s.queryTaskDevices(ctx, `SELECT `+taskDeviceCols+` FROM firmware_task_devices d`+w.String()+
		` ORDER BY d.task_id DESC, d.device_name`+pg, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list firmware task devices: %w", err)
	}
	return out, total, nil
}

// ActiveTaskDevice returns the device's newest unfinished entry of a
// running task.
func (s *Store) ActiveTaskDevice(ctx context.Context, productID, deviceName string) (ota.TaskDevice, error) {
	d, err := scanTaskDevice(s.db.QueryRow(ctx, `SELECT `+taskDeviceCols+` FROM firmware_task_devices d
		JOIN firmware_tasks t ON t.id = d.task_id
		WHERE d.product_id = $1 AND d.device_name = $2 AND t.status IN ($3, $4) AND d.state NOT IN ('done', 'failed', 'canceled')
		ORDER BY d.task_id DESC LIMIT 1`, productID, deviceName, ota.TaskRunning, ota.TaskPaused))
	if errors.Is(err, ErrNoRows) {
		return ota.TaskDevice{}, fmt.Errorf("%s/%s: %w", productID, deviceName, ota.ErrNoActiveUpgrade)
	}
	if err != nil {
		return ota.TaskDevice{}, fmt.Errorf("active upgrade of %s/%s: %w", productID, deviceName, err)
	}
	return d, nil
}

// LatestTaskDevice returns the device's newest entry of any task.
func (s *Store) LatestTaskDevice(ctx context.Context, productID, deviceName string) (ota.TaskDevice, error) {
	d, err := scanTaskDevice(s.db.QueryRow(ctx, `SELECT `+taskDeviceCols+` FROM firmware_task_devices d
		WHERE d.product_id = $1 AND d.device_name = $2 ORDER BY d.task_id DESC LIMIT 1`, productID, deviceName))
	if errors.Is(err, ErrNoRows) {
		return ota.TaskDevice{}, fmt.Errorf("%s/%s: %w", productID, deviceName, ota.ErrNoActiveUpgrade)
	}
	if err != nil {
		return ota.TaskDevice{}, fmt.Errorf("latest upgrade of %s/%s: %w", productID, deviceName, err)
	}
	return d, nil
}

// UpdateTaskDevice writes a device's task state.
func (s *Store) UpdateTaskDevice(ctx context.Context, d ota.TaskDevice) error {
	n, err := s.db.Exec(ctx, `UPDATE firmware_task_devices SET ori_version = $1, state = $2, percent = $3, ret_code = $4,
			err_msg = $5, retries = $6, pushes = $7, next_at = $8, deadline = $9, updated_at = $10
		WHERE task_id = $11 AND product_id = $12 AND device_name = $13`,
		d.OriVersion, string(d.State), d.Percent, d.RetCode, d.ErrMsg, d.Retries, d.Pushes, millis(d.NextAt),
		millis(d.Deadline), millis(d.UpdatedAt), d.TaskID, d.ProductID, d.DeviceName)
	if err != nil {
		return fmt.Errorf("update firmware task device %s/%s: %w", d.ProductID, d.DeviceName, err)
	}
	if n == 0 {
		return fmt.Errorf("firmware task %d device %s/%s: %w", d.TaskID, d.ProductID, d.DeviceName, ota.ErrTaskNotFound)
	}
	return nil
}

// DueTaskDevices returns devices of running tasks that need the engine.
func (s *Store) DueTaskDevices(ctx context.Context, now time.Time, limit int) ([]ota.TaskDevice, error) {
	ms := millis(now)
	out, err := s.queryTaskDevices(ctx, `SELECT `+taskDeviceCols+` FROM firmware_task_devices d
		JOIN firmware_tasks t ON t.id = d.task_id
		WHERE (t.status = $1 AND d.state = 'pending' AND d.next_at <= $2)
			OR (t.status IN ($1, $4) AND d.state IN ('pushed', 'downloading', 'burning') AND d.deadline <= $2)
		ORDER BY d.next_at, d.task_id, d.device_name LIMIT $3`, ota.TaskRunning, ms, int64(limit), ota.TaskPaused)
	if err != nil {
		return nil, fmt.Errorf("due firmware task devices: %w", err)
	}
	return out, nil
}

// FinishTasks marks running tasks done once all their devices are terminal.
func (s *Store) FinishTasks(ctx context.Context, at time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE firmware_tasks SET status = $1, updated_at = $2
		WHERE status = $3 AND NOT EXISTS (SELECT 1 FROM firmware_task_devices d
			WHERE d.task_id = firmware_tasks.id AND d.state NOT IN ('done', 'failed', 'canceled'))`,
		ota.TaskDone, millis(at), ota.TaskRunning)
	if err != nil {
		return fmt.Errorf("finish firmware tasks: %w", err)
	}
	return nil
}

// SetDeviceVersion records the firmware version a device reported.
func (s *Store) SetDeviceVersion(ctx context.Context, productID, deviceName, version string) error {
	n, err := s.db.Exec(ctx, `UPDATE devices SET version = $1 WHERE product_id = $2 AND name = $3`, version, productID, deviceName)
	if err != nil {
		return fmt.Errorf("set version of %s/%s: %w", productID, deviceName, err)
	}
	if n == 0 {
		return fmt.Errorf("set version of %s/%s: %w", productID, deviceName, registry.ErrDeviceNotFound)
	}
	return nil
}

// ResumeTask sets a paused task running and clears its failure threshold.
func (s *Store) ResumeTask(ctx context.Context, id int64, at time.Time) error {
	n, err := s.db.Exec(ctx, `UPDATE firmware_tasks SET status = $1, pause_fail_pct = 0, updated_at = $2 WHERE id = $3 AND status = $4`,
		ota.TaskRunning, millis(at), id, ota.TaskPaused)
	if err != nil {
		return fmt.Errorf("resume firmware task %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("resume firmware task %d: %w", id, ota.ErrTaskNotPaused)
	}
	return nil
}

// CountTask counts a task's devices by progress.
func (s *Store) CountTask(ctx context.Context, id int64) (ota.TaskCounts, error) {
	var c ota.TaskCounts
	err := s.db.QueryRow(ctx, `SELECT COUNT(*),
			COUNT(CASE WHEN pushes > 0 OR state <> 'pending' THEN 1 END),
			COUNT(CASE WHEN state = 'done' THEN 1 END),
			COUNT(CASE WHEN state = 'failed' THEN 1 END),
			COUNT(CASE WHEN state = 'canceled' THEN 1 END)
		FROM firmware_task_devices WHERE task_id = $1`, id).Scan(&c.Total, &c.Started, &c.Done, &c.Failed, &c.Canceled)
	if err != nil {
		return ota.TaskCounts{}, fmt.Errorf("count firmware task %d: %w", id, err)
	}
	return c, nil
}
