-- Firmware versions and upgrade tasks with per-device state (internal/ota).
-- Times are unix milliseconds, 0 meaning never.

CREATE TABLE firmwares (
    product_id   TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version      TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    md5          TEXT NOT NULL,
    size         INTEGER NOT NULL,
    fw_type      TEXT NOT NULL DEFAULT 'mcu',
    user_defined TEXT NOT NULL DEFAULT '',
    blob_key     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (product_id, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE firmware_tasks (
    id             INTEGER PRIMARY KEY,
    product_id     TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version        TEXT NOT NULL,
    ori_version    TEXT NOT NULL DEFAULT '',
    upgrade_mode   TEXT NOT NULL,
    fw_type        TEXT NOT NULL DEFAULT 'mcu',
    type           INTEGER NOT NULL,
    upgrade_method INTEGER NOT NULL,
    timeout_s      INTEGER NOT NULL,
    max_retry      INTEGER NOT NULL,
    retry_ms       INTEGER NOT NULL,
    rate_limit     INTEGER NOT NULL,
    rollout_batch  INTEGER NOT NULL DEFAULT 0,
    pause_fail_pct INTEGER NOT NULL DEFAULT 0,
    override_mode  INTEGER NOT NULL,
    user_define    TEXT NOT NULL DEFAULT '',
    status         INTEGER NOT NULL,
    delay_until    INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX firmware_tasks_version ON firmware_tasks (product_id, version, id);

CREATE TABLE firmware_task_devices (
    task_id     INTEGER NOT NULL REFERENCES firmware_tasks (id) ON DELETE CASCADE,
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    ori_version TEXT NOT NULL DEFAULT '',
    dst_version TEXT NOT NULL,
    state       TEXT NOT NULL,
    percent     INTEGER NOT NULL DEFAULT 0,
    ret_code    INTEGER NOT NULL DEFAULT 0,
    err_msg     TEXT NOT NULL DEFAULT '',
    retries     INTEGER NOT NULL DEFAULT 0,
    pushes      INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL DEFAULT 0,
    deadline    INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (task_id, product_id, device_name)
) STRICT, WITHOUT ROWID;

CREATE INDEX firmware_task_devices_device ON firmware_task_devices (product_id, device_name, task_id);
CREATE INDEX firmware_task_devices_due ON firmware_task_devices (state, next_at, deadline);
