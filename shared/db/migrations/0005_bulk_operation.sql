-- A bulk delete or move: the matching numbers fixed when it was asked for, sent as chunked
-- commands; their outcomes stay in processed_command, read through `command_ids` in order.
CREATE TABLE bulk_operation (
    id            uuid PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenant (id),
    principal_sub text NOT NULL,
    action        text NOT NULL CHECK (action IN ('delete', 'move')),
    org_unit_id   text,
    total         integer NOT NULL CHECK (total > 0),
    command_ids   uuid[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bulk_operation_tenant_created ON bulk_operation (tenant_id, created_at DESC);

GRANT SELECT, INSERT ON bulk_operation TO registry_app;
ALTER TABLE bulk_operation ENABLE ROW LEVEL SECURITY;
ALTER TABLE bulk_operation FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bulk_operation USING (tenant_id = current_tenant());
