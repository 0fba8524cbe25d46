-- Firmware versions and upgrade tasks with per-device state (internal/ota).
-- Times are unix milliseconds, 0 meaning never.

CREATE TABLE firmwares (
    product_id   TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version      TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    md5          TEXT NOT NULL,
    size         BIGINT NOT NULL,
    fw_type      TEXT NOT NULL DEFAULT 'mcu',
    user_defined TEXT NOT NULL DEFAULT '',
    blob_key     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (product_id, version)
);

CREATE TABLE firmware_tasks (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id     TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version        TEXT NOT NULL,
    ori_version    TEXT NOT NULL DEFAULT '',
    upgrade_mode   TEXT NOT NULL,
    fw_type        TEXT NOT NULL DEFAULT 'mcu',
    type           BIGINT NOT NULL,
    upgrade_method BIGINT NOT NULL,
    timeout_s      BIGINT NOT NULL,
    max_retry      BIGINT NOT NULL,
    retry_ms       BIGINT NOT NULL,
    rate_limit     BIGINT NOT NULL,
    rollout_batch  BIGINT NOT NULL DEFAULT 0,
    pause_fail_pct BIGINT NOT NULL DEFAULT 0,
    override_mode  BIGINT NOT NULL,
    user_define    TEXT NOT NULL DEFAULT '',
    status         BIGINT NOT NULL,
    delay_until    BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE INDEX firmware_tasks_version ON firmware_tasks (product_id, version, id);

CREATE TABLE firmware_task_devices (
    task_id     BIGINT NOT NULL REFERENCES firmware_tasks (id) ON DELETE CASCADE,
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    ori_version TEXT NOT NULL DEFAULT '',
    dst_version TEXT NOT NULL,
    state       TEXT NOT NULL,
    percent     BIGINT NOT NULL DEFAULT 0,
    ret_code    BIGINT NOT NULL DEFAULT 0,
    err_msg     TEXT NOT NULL DEFAULT '',
    retries     BIGINT NOT NULL DEFAULT 0,
    pushes      BIGINT NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL DEFAULT 0,
    deadline    BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (task_id, product_id, device_name)
);

CREATE INDEX firmware_task_devices_device ON firmware_task_devices (product_id, device_name, task_id);
CREATE INDEX firmware_task_devices_due ON firmware_task_devices (state, next_at, deadline);
