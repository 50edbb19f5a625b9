-- Defence in depth: every tenant table answers only for the tenant set in the transaction
-- (`app.tenant_id`, see shared/db/pool.py), even to its owner (FORCE). The services connect
-- as registry_app, which owns nothing and cannot bypass the policies; a query that forgets
-- its tenant filter then sees nothing of another tenant.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'registry_app') THEN
        CREATE ROLE registry_app NOLOGIN;  -- the deployment gives it LOGIN and a password
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO registry_app;
GRANT SELECT ON schema_migration, system_parameter TO registry_app;
GRANT INSERT, UPDATE ON system_parameter TO registry_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant, org_unit, caller_number, processed_command,
    import_task, import_file_chunk, import_row_result TO registry_app;

CREATE FUNCTION current_tenant() RETURNS text LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('app.tenant_id', true), '') $$;

-- The two import tables without a tenant column get one, filled in from the session.
ALTER TABLE import_file_chunk ADD COLUMN tenant_id text;
UPDATE import_file_chunk c SET tenant_id = t.tenant_id FROM import_task t WHERE t.id = c.task_id;
ALTER TABLE import_file_chunk ALTER COLUMN tenant_id SET DEFAULT current_tenant(),
                              ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE import_row_result ADD COLUMN tenant_id text;
UPDATE import_row_result r SET tenant_id = t.tenant_id FROM import_task t WHERE t.id = r.task_id;
ALTER TABLE import_row_result ALTER COLUMN tenant_id SET DEFAULT current_tenant(),
                              ALTER COLUMN tenant_id SET NOT NULL;

ALTER TABLE tenant ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant USING (id = current_tenant());

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['org_unit', 'caller_number', 'processed_command', 'import_task',
                                'import_file_chunk', 'import_row_result']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant())',
                       name);
    END LOOP;
END
$$;

-- The one cross-tenant read: an import worker looking for tasks that have lost their reader.
CREATE POLICY import_takeover ON import_task FOR SELECT
    USING (current_setting('app.import_takeover', true) = 'on');
