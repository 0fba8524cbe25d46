-- Property reports are staged: a report is committed into report_log, a
-- table without secondary indexes (cheap to append to), and compacted in the
-- background into report_history and device_properties (see CompactReports
-- in internal/store/sqlstore). Reads merge both tables.
--
-- report_log takes its ids from the id space of report_history and a row
-- keeps its id when it moves, so history cursors (ts, id) stay valid:
-- AUTOINCREMENT never reuses an id, even after the table was emptied, and
-- its sequence starts above the ids already in report_history. From now on
-- report_history rows are only inserted with the ids of report_log.
--
-- report_compactor is one row that a compaction updates first: compactions
-- run one after the other.
--
-- The delete trigger of devices now clears report_log too, first.

CREATE TABLE report_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    ts          INTEGER NOT NULL,
    params      TEXT NOT NULL
) STRICT;

INSERT INTO sqlite_sequence (name, seq)
SELECT 'report_log', COALESCE(MAX(id), 0) FROM report_history;

CREATE TABLE report_compactor (
    id   INTEGER PRIMARY KEY,
    runs INTEGER NOT NULL
) STRICT;

INSERT INTO report_compactor (id, runs) VALUES (1, 0);

DROP TRIGGER devices_delete_data;

CREATE TRIGGER devices_delete_data AFTER DELETE ON devices
BEGIN
    DELETE FROM report_log WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_properties WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_controls WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_infos WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM report_history WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM event_history WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_raw WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_calls WHERE product_id = OLD.product_id AND device_name = OLD.name;
END;
