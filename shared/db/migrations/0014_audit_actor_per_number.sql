-- Several commands' creates in one INSERT (the registry's command batches), each audit record
-- still naming its own command and principal: the writer gives them per number in the
-- transaction-local setting app.audit_by_number, a JSON object
-- {"<number>": {"command_id": "<uuid>", "sub": "...", "role": "..."}} (shared/db/audit.py:
-- set_actors_by_number). A number it does not name falls back to the statement's actor.
CREATE OR REPLACE FUNCTION audit_caller_number_created() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Read once per statement, not once per row.
    actor_sub  text := audit_setting('sub', current_user);
    actor_role text := audit_setting('role', 'database');
    by_command uuid := audit_setting('command_id', NULL)::uuid;
    by_bulk    uuid := audit_setting('bulk_operation_id', NULL)::uuid;
    by_number  jsonb := audit_setting('by_number', NULL)::jsonb;
BEGIN
    INSERT INTO caller_number_audit
        (tenant_id, caller_number_id, number, action, org_unit_id_after, description_after,
         principal_sub, principal_role, command_id, bulk_operation_id, import_task_id, import_row)
    SELECT n.tenant_id, n.id, n.number, 'created', n.org_unit_id, n.description,
           coalesce(a.actor ->> 'sub', actor_sub), coalesce(a.actor ->> 'role', actor_role),
           coalesce((a.actor ->> 'command_id')::uuid, by_command), by_bulk,
           n.import_task_id, n.import_row
    FROM new_rows n CROSS JOIN LATERAL (SELECT by_number -> n.number) AS a(actor);
    RETURN NULL;
END
$$;
