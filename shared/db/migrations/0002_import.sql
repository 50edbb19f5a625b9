-- Bulk import: tasks, their uploaded files (in PostgreSQL, so every service on any host reads
-- them), and one result per data row. A number written by an import remembers its task and
-- row, which makes a redelivered row batch answer with the same result instead of "duplicate".

ALTER TABLE caller_number ADD COLUMN import_task_id uuid, ADD COLUMN import_row integer;

CREATE TABLE import_task (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenant (id),
    principal       jsonb NOT NULL,
    org_unit_id     text,
    description     text NOT NULL DEFAULT '',
    file_name       text NOT NULL,
    file_size       bigint NOT NULL DEFAULT 0,
    idempotency_key text,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    error_code      text,
    error_message   text,
    rows_total      integer,
    rows_read       integer NOT NULL DEFAULT 0,
    -- The spreadsheet row number up to which rows are sent: where a resumed read goes on.
    last_row_sent   integer NOT NULL DEFAULT 0,
    succeeded       integer NOT NULL DEFAULT 0,
    failed          integer NOT NULL DEFAULT 0,
    duplicates      integer NOT NULL DEFAULT 0,
    not_processed   integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    -- The worker reading the file renews this; a task whose lease ran out is taken over.
    lease_until     timestamptz,
    UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX import_task_tenant_created ON import_task (tenant_id, created_at DESC, id);
CREATE INDEX import_task_unfinished ON import_task (status) WHERE status IN ('pending', 'running');

CREATE TABLE import_file_chunk (
    task_id uuid NOT NULL REFERENCES import_task (id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (task_id, seq)
);

CREATE TABLE import_row_result (
    task_id           uuid NOT NULL REFERENCES import_task (id) ON DELETE CASCADE,
    row_number        integer NOT NULL,
    number_as_written text NOT NULL,
    succeeded         boolean NOT NULL,
    reason_code       text,
    reason            text NOT NULL DEFAULT '',
    PRIMARY KEY (task_id, row_number)
);
