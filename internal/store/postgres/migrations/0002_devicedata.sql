-- Thing models (versioned, never updated in place) and device data: latest
-- reported values, pending control, device info, property and event history.
-- Times are unix milliseconds. Values and params are JSON text.

CREATE TABLE thing_models (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    schema     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (product_id, version)
);

CREATE TABLE device_properties (
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    property_id TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (product_id, device_name, property_id)
);

CREATE TABLE device_controls (
    product_id   TEXT NOT NULL,
    device_name  TEXT NOT NULL,
    params       TEXT NOT NULL,
    client_token TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (product_id, device_name)
);

CREATE TABLE device_infos (
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    info        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (product_id, device_name)
);

CREATE TABLE property_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    property_id TEXT NOT NULL,
    ts          BIGINT NOT NULL,
    value       TEXT NOT NULL
);

CREATE INDEX property_history_lookup ON property_history (product_id, device_name, property_id, ts, id);
CREATE INDEX property_history_ts ON property_history (ts);

CREATE TABLE event_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    type        TEXT NOT NULL,
    ts          BIGINT NOT NULL,
    params      TEXT NOT NULL
);

CREATE INDEX event_history_lookup ON event_history (product_id, device_name, ts, id);
CREATE INDEX event_history_ts ON event_history (ts);
