-- An Idempotency-Key belongs to one caller (tenant and token `sub`), and the task remembers
-- a fingerprint of what was sent with it (file, OU, description), so that the same key with
-- another upload is refused instead of answered with the old task.
ALTER TABLE import_task
    DROP CONSTRAINT import_task_tenant_id_idempotency_key_key,
    ADD COLUMN idempotency_sub text,
    ADD COLUMN upload_sha256 text;
UPDATE import_task SET idempotency_sub = principal->>'sub' WHERE idempotency_key IS NOT NULL;
ALTER TABLE import_task
    ADD CONSTRAINT import_task_idempotency UNIQUE (tenant_id, idempotency_sub, idempotency_key);
