-- Raw uplinks ($thing/up/raw, kept opaque: newest N per device and no older
-- than the history retention), platform call records (actions and
-- alert_fence_event sent to a device, with the device's reply once it came)
-- and the removal of a device's data when the device is deleted.

CREATE TABLE device_raw (
    id          INTEGER PRIMARY KEY,
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    payload     BLOB NOT NULL
) STRICT;

CREATE INDEX device_raw_lookup ON device_raw (product_id, device_name, id);
CREATE INDEX device_raw_ts ON device_raw (ts);

CREATE TABLE device_calls (
    product_id   TEXT NOT NULL,
    device_name  TEXT NOT NULL,
    client_token TEXT NOT NULL,
    method       TEXT NOT NULL,
    name         TEXT NOT NULL,
    request      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    replied_at   INTEGER NOT NULL DEFAULT 0,
    code         INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL DEFAULT '',
    response     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (product_id, device_name, client_token)
) STRICT, WITHOUT ROWID;

CREATE INDEX device_calls_created ON device_calls (created_at);

CREATE TRIGGER devices_delete_data AFTER DELETE ON devices
BEGIN
    DELETE FROM device_properties WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_controls WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_infos WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM property_history WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM event_history WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_raw WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_calls WHERE product_id = OLD.product_id AND device_name = OLD.name;
END;
