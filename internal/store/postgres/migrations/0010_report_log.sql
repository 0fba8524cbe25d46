-- Property reports are staged: a report is committed into report_log, a
-- table without secondary indexes (cheap to append to), and compacted in the
-- background into report_history and device_properties (see CompactReports
-- in internal/store/sqlstore). Reads merge both tables.
--
-- report_log and report_history share one id sequence, report_ids, started
-- above the ids already in report_history, and a row keeps its id when it
-- moves, so history cursors (ts, id) stay valid. report_history's own
-- identity is replaced by the shared sequence: the store only inserts rows
-- with the ids of report_log, and a node still running the previous
-- version, which inserts into report_history directly, takes its ids from
-- the same sequence.
--
-- report_compactor is one row that a compaction updates first: compactions
-- of several nodes run one after the other, so no row is moved twice and
-- two compactions never wait for each other's rows in a different order.
--
-- The delete trigger function of devices now clears report_log too, first:
-- it waits there for a compaction moving the device's rows and its later
-- statements see what that compaction wrote.

CREATE SEQUENCE report_ids AS BIGINT;

SELECT setval('report_ids', COALESCE((SELECT MAX(id) FROM report_history), 0) + 1, false);

CREATE TABLE report_log (
    id          BIGINT PRIMARY KEY DEFAULT nextval('report_ids'),
    product_id  TEXT NOT NULL,
    device_name TEXT NOT NULL,
    ts          BIGINT NOT NULL,
    params      TEXT NOT NULL
);

ALTER TABLE report_history ALTER COLUMN id DROP IDENTITY;
ALTER TABLE report_history ALTER COLUMN id SET DEFAULT nextval('report_ids');

CREATE TABLE report_compactor (
    id   INTEGER PRIMARY KEY,
    runs BIGINT NOT NULL
);

INSERT INTO report_compactor (id, runs) VALUES (1, 0);

CREATE OR REPLACE FUNCTION devices_delete_data() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM report_log WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_properties WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_controls WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_infos WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM report_history WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM event_history WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_raw WHERE product_id = OLD.product_id AND device_name = OLD.name;
    DELETE FROM device_calls WHERE product_id = OLD.product_id AND device_name = OLD.name;
    RETURN OLD;
END;
$$;
