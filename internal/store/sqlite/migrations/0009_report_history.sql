-- Property history as one row per accepted report: params is the report's
-- values as one JSON object (id -> value) instead of one property_history
-- row per value. Existing rows move over as one-value objects and keep their
-- ids, so stored history and paging cursors survive the upgrade. The delete
-- trigger of devices now clears report_history.

CREATE TABLE report_history (
    id          INTEGER PRIMARY KEY,
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    params      TEXT NOT NULL
) STRICT;

INSERT INTO report_history (id, product_id, device_name, ts, params)
SELECT id, product_id, device_name, ts, '{' || json_quote(property_id) || ':' || value || '}'
FROM property_history ORDER BY id;

DROP TABLE property_history;

CREATE INDEX report_history_lookup ON report_history (product_id, device_name, ts, id);
CREATE INDEX report_history_ts ON report_history (ts);

DROP TRIGGER devices_delete_data;

CREATE TRIGGER devices_delete_data AFTER DELETE ON devices
BEGIN
    DELETE FROM device_properties WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_controls WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_infos WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM report_history WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM event_history WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_raw WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_calls WHERE product_id = OLD.product_id AND device_name = OLD.name;
END;
