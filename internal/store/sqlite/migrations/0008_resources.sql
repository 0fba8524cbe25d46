-- Resource (file) management on $resource/up|down/service (internal/ota).
-- Times are unix milliseconds.

-- device_resources is what each device holds or is being sent.
CREATE TABLE device_resources (
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL DEFAULT 'FILE',
    version     TEXT NOT NULL,
    md5         TEXT NOT NULL DEFAULT '',
    size        INTEGER NOT NULL DEFAULT 0,
    blob_key    TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL,
    percent     INTEGER NOT NULL DEFAULT 0,
    result_code INTEGER NOT NULL DEFAULT 0,
    result_msg  TEXT NOT NULL DEFAULT '',
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (product_id, device_name, name),
    FOREIGN KEY (product_id, device_name) REFERENCES devices (product_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- resource_uploads are files devices upload (request_url).
CREATE TABLE resource_uploads (
    token       TEXT PRIMARY KEY,
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL DEFAULT 'FILE',
    version     TEXT NOT NULL DEFAULT '',
    blob_key    TEXT NOT NULL,
    state       TEXT NOT NULL,
    md5         TEXT NOT NULL DEFAULT '',
    size        INTEGER NOT NULL DEFAULT 0,
    result_code INTEGER NOT NULL DEFAULT 0,
    result_msg  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    FOREIGN KEY (product_id, device_name) REFERENCES devices (product_id, name) ON DELETE CASCADE
) STRICT;

CREATE INDEX resource_uploads_device ON resource_uploads (product_id, device_name, created_at);
