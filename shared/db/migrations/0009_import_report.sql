-- The per-row report, written once (xlsx and csv) when a task completes or is cancelled and
-- served as stored. `report_stored_at` is set in the transaction that stores the report's last
-- chunk, so a report being written is never offered for download.

ALTER TABLE import_task ADD COLUMN report_stored_at timestamptz;

CREATE TABLE import_report_chunk (
    task_id   uuid NOT NULL REFERENCES import_task (id) ON DELETE CASCADE,
    format    text NOT NULL CHECK (format IN ('xlsx', 'csv')),
    seq       integer NOT NULL,
    data      bytea NOT NULL,
    tenant_id text NOT NULL DEFAULT current_tenant(),
    PRIMARY KEY (task_id, format, seq)
);
-- xlsx is zipped already, and the csv chunks are read back as they are: no second compression.
ALTER TABLE import_report_chunk ALTER COLUMN data SET STORAGE EXTERNAL;
GRANT SELECT, INSERT, DELETE ON import_report_chunk TO registry_app;
ALTER TABLE import_report_chunk ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_report_chunk FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_report_chunk USING (tenant_id = current_tenant());

-- Upkeep looks for finished tasks whose report is not stored yet (a crash in between).
CREATE INDEX import_task_report_missing ON import_task (finished_at)
    WHERE report_stored_at IS NULL AND status IN ('completed', 'cancelled')
      AND results_deleted_at IS NULL;
