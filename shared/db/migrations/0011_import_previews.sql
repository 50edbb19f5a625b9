-- Dry runs ("Check file") and the duplicate-file warning.
--   dry_run:        the task checks every row and writes no number; its file is kept until it
--                   is imported for real (moved to that task) or retention deletes it.
--   preview_of:     the dry run a real import was started from ("Import for real");
--   imported_as:    on a dry run, the real import started from it (once only).
--   content_sha256: SHA-256 of the uploaded file's bytes alone: an upload of a file the tenant
--                   imported in the last IMPORT_DUPLICATE_WINDOW_DAYS asks for confirmation.
ALTER TABLE import_task
    ADD COLUMN dry_run boolean NOT NULL DEFAULT false,
    ADD COLUMN preview_of uuid,
    ADD COLUMN imported_as uuid,
    ADD COLUMN content_sha256 text;
CREATE INDEX import_task_content ON import_task (tenant_id, content_sha256, created_at DESC)
    WHERE content_sha256 IS NOT NULL AND NOT dry_run;

-- The numbers a running dry run has seen, so that a number repeated in the file is found
-- across row batches as a real import finds it in caller_number; deleted when it ends.
CREATE TABLE import_preview_number (
    task_id    uuid NOT NULL REFERENCES import_task (id) ON DELETE CASCADE,
    number     text NOT NULL,
    row_number integer NOT NULL,
    tenant_id  text NOT NULL DEFAULT current_tenant(),
    PRIMARY KEY (task_id, number)
);
GRANT SELECT, INSERT, DELETE ON import_preview_number TO registry_app;
ALTER TABLE import_preview_number ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_preview_number FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_preview_number USING (tenant_id = current_tenant());
