-- Dynamic registration settings per product (product secret sealed like
-- device PSKs) and device log lines uploaded over HTTP.
-- Times are unix milliseconds.

CREATE TABLE product_dynreg (
    product_id       TEXT PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    register_type    BIGINT NOT NULL DEFAULT 0,
    register_limit   BIGINT NOT NULL DEFAULT 0,
    allow_reregister BIGINT NOT NULL DEFAULT 0,
    sealed_secret    BYTEA NOT NULL,
    registered       BIGINT NOT NULL DEFAULT 0,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE device_logs (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    device_time TEXT NOT NULL DEFAULT '',
    level       TEXT NOT NULL DEFAULT '',
    line        TEXT NOT NULL
);

CREATE INDEX device_logs_lookup ON device_logs (product_id, device_name, received_at, id);
CREATE INDEX device_logs_received ON device_logs (received_at);
