-- The audit history of every caller number: created, updated (before and after), deleted, with
-- who (sub, role), when, and by what (command, bulk operation, or import task and row).
--
-- Statement triggers write it from the changed rows themselves, set-based (one INSERT ... SELECT
-- per statement, also for an import batch), in the transaction of the change: nothing is
-- audited that did not happen, and nothing happens unaudited, whoever writes. The writer says
-- who acts in transaction-local settings (shared/db/audit.py: set_actor); a write without them
-- (a database administrator's own SQL) is recorded as the database role that made it.
-- No foreign key to caller_number: a deleted number keeps its history.

CREATE TABLE caller_number_audit (
    id                 bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id          text NOT NULL,
    caller_number_id   uuid NOT NULL,
    number             text COLLATE "C" NOT NULL,
    action             text NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
    -- What the number was before (updated, deleted) and after (created, updated).
    org_unit_id_before text,
    description_before text,
    org_unit_id_after  text,
    description_after  text,
    principal_sub      text NOT NULL,
    principal_role     text NOT NULL,
    command_id         uuid,
    bulk_operation_id  uuid,
    import_task_id     uuid,
    import_row         integer,
    changed_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
-- A number's history by its digits (all its lives); by its id through its digits (in
-- caller_number while it lives, in its `deleted` record after: few, so only those are indexed by
-- id; a random uuid index on every record would slow an import's insert); retention by time.
CREATE INDEX caller_number_audit_number ON caller_number_audit (tenant_id, number, id);
CREATE INDEX caller_number_audit_deleted ON caller_number_audit (tenant_id, caller_number_id)
    WHERE action = 'deleted';
CREATE INDEX caller_number_audit_changed ON caller_number_audit USING brin (changed_at);

GRANT SELECT, INSERT, DELETE ON caller_number_audit TO registry_app;
ALTER TABLE caller_number_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE caller_number_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON caller_number_audit USING (tenant_id = current_tenant());
-- Retention (the import worker's upkeep) deletes old records of every tenant, and nothing else.
CREATE POLICY audit_retention_read ON caller_number_audit FOR SELECT
    USING (current_setting('app.audit_retention', true) = 'on');
CREATE POLICY audit_retention_delete ON caller_number_audit FOR DELETE
    USING (current_setting('app.audit_retention', true) = 'on');

-- Who acts, as the writer set it for this transaction; else the database role itself.
CREATE FUNCTION audit_setting(name text, fallback text) RETURNS text LANGUAGE sql STABLE
AS $$ SELECT coalesce(nullif(current_setting('app.audit_' || name, true), ''), fallback) $$;

CREATE FUNCTION audit_caller_number_created() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Read once per statement, not once per row.
    actor_sub  text := audit_setting('sub', current_user);
    actor_role text := audit_setting('role', 'database');
    by_command uuid := audit_setting('command_id', NULL)::uuid;
    by_bulk    uuid := audit_setting('bulk_operation_id', NULL)::uuid;
BEGIN
    INSERT INTO caller_number_audit
        (tenant_id, caller_number_id, number, action, org_unit_id_after, description_after,
         principal_sub, principal_role, command_id, bulk_operation_id, import_task_id, import_row)
    SELECT n.tenant_id, n.id, n.number, 'created', n.org_unit_id, n.description,
           actor_sub, actor_role, by_command, by_bulk,
           n.import_task_id, n.import_row
    FROM new_rows n;
    RETURN NULL;
END
$$;

-- Only real changes: an update that leaves the OU and the description as they were is none.
CREATE FUNCTION audit_caller_number_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Read once per statement, not once per row.
    actor_sub  text := audit_setting('sub', current_user);
    actor_role text := audit_setting('role', 'database');
    by_command uuid := audit_setting('command_id', NULL)::uuid;
    by_bulk    uuid := audit_setting('bulk_operation_id', NULL)::uuid;
BEGIN
    INSERT INTO caller_number_audit
        (tenant_id, caller_number_id, number, action, org_unit_id_before, description_before,
         org_unit_id_after, description_after, principal_sub, principal_role, command_id,
         bulk_operation_id)
    SELECT n.tenant_id, n.id, n.number, 'updated', o.org_unit_id, o.description,
           n.org_unit_id, n.description,
           actor_sub, actor_role, by_command, by_bulk
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (o.org_unit_id, o.description) IS DISTINCT FROM (n.org_unit_id, n.description);
    RETURN NULL;
END
$$;

CREATE FUNCTION audit_caller_number_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Read once per statement, not once per row.
    actor_sub  text := audit_setting('sub', current_user);
    actor_role text := audit_setting('role', 'database');
    by_command uuid := audit_setting('command_id', NULL)::uuid;
    by_bulk    uuid := audit_setting('bulk_operation_id', NULL)::uuid;
BEGIN
    INSERT INTO caller_number_audit
        (tenant_id, caller_number_id, number, action, org_unit_id_before, description_before,
         principal_sub, principal_role, command_id, bulk_operation_id)
    SELECT o.tenant_id, o.id, o.number, 'deleted', o.org_unit_id, o.description,
           actor_sub, actor_role, by_command, by_bulk
    FROM old_rows o;
    RETURN NULL;
END
$$;

CREATE TRIGGER caller_number_audit_created AFTER INSERT ON caller_number
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_caller_number_created();
CREATE TRIGGER caller_number_audit_updated AFTER UPDATE ON caller_number
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_caller_number_updated();
CREATE TRIGGER caller_number_audit_deleted AFTER DELETE ON caller_number
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit_caller_number_deleted();
