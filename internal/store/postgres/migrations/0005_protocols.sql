-- Remote configuration (PROTOCOL.md §13.10): one configuration per product
-- and optional per-device overrides. payload is a JSON object; times are
-- unix milliseconds.

CREATE TABLE product_remote_configs (
    product_id TEXT NOT NULL PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    enabled    INTEGER NOT NULL,
    payload    TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE device_remote_configs (
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (product_id, device_name),
    FOREIGN KEY (product_id, device_name) REFERENCES devices (product_id, name) ON DELETE CASCADE
);

-- TWecall (PROTOCOL.md §11), local provider: the operator's license pool
-- per product and package type, and the license each device activated.
-- valid_days is how long a license lasts from its activation.

CREATE TABLE twecall_pools (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    pkg_type   INTEGER NOT NULL,
    total      BIGINT NOT NULL,
    used       BIGINT NOT NULL DEFAULT 0,
    valid_days INTEGER NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (product_id, pkg_type)
);

CREATE TABLE twecall_activations (
    product_id   TEXT NOT NULL,
    device_name  TEXT NOT NULL,
    pkg_type     INTEGER NOT NULL,
    model_id     TEXT NOT NULL,
    sn           TEXT NOT NULL,
    activated_at BIGINT NOT NULL,
    expire_at    BIGINT NOT NULL,
    PRIMARY KEY (product_id, device_name),
    FOREIGN KEY (product_id, device_name) REFERENCES devices (product_id, name) ON DELETE CASCADE
);
