-- Registry: projects, products, devices (with presence) and custom topics.
-- Times are unix milliseconds, 0 meaning "never"; booleans are 0/1.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    instance_id TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE products (
    id                    TEXT PRIMARY KEY,
    project_id            TEXT NOT NULL REFERENCES projects (id),
    name                  TEXT NOT NULL,
    category_id           INTEGER NOT NULL DEFAULT 0,
    product_type          INTEGER NOT NULL DEFAULT 0,
    encryption_type       TEXT NOT NULL DEFAULT '',
    net_type              TEXT NOT NULL DEFAULT '',
    data_protocol         INTEGER NOT NULL DEFAULT 0,
    description           TEXT NOT NULL DEFAULT '',
    dev_status            TEXT NOT NULL DEFAULT '',
    module_id             INTEGER NOT NULL DEFAULT 0,
    enable_product_script TEXT NOT NULL DEFAULT '',
    bind_strategy         INTEGER NOT NULL DEFAULT 0,
    rate                  TEXT NOT NULL DEFAULT '',
    period                TEXT NOT NULL DEFAULT '',
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

CREATE INDEX products_project_id ON products (project_id);

-- The primary key (product_id, name) also serves lookups by product.
CREATE TABLE devices (
    product_id     TEXT NOT NULL REFERENCES products (id),
    name           TEXT NOT NULL,
    sealed_psk     BLOB NOT NULL,
    cert_pem       TEXT NOT NULL DEFAULT '',
    cert_sha256    TEXT NOT NULL DEFAULT '',
    enable_state   INTEGER NOT NULL DEFAULT 1,
    log_level      INTEGER NOT NULL DEFAULT 0,
    version        TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    online         INTEGER NOT NULL DEFAULT 0,
    first_online   INTEGER NOT NULL DEFAULT 0,
    last_login     INTEGER NOT NULL DEFAULT 0,
    last_logout    INTEGER NOT NULL DEFAULT 0,
    client_ip      TEXT NOT NULL DEFAULT '',
    protocol_level INTEGER NOT NULL DEFAULT 0,
    keep_alive     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (product_id, name)
) STRICT, WITHOUT ROWID;

CREATE INDEX devices_online ON devices (online) WHERE online = 1;

CREATE TABLE topic_policies (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    privilege  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (product_id, name)
) STRICT;
