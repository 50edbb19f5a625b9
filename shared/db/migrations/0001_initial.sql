-- Tenants with their parameters, the system parameters, the OU tree, caller numbers,
-- and the outcome of every processed command (what makes a redelivered command a no-op).

CREATE TABLE tenant (
    id                           text PRIMARY KEY,
    name                         text NOT NULL,
    calling_number_anonymization boolean NOT NULL DEFAULT false,
    data_isolation_enforced      boolean NOT NULL DEFAULT false,
    created_at                   timestamptz NOT NULL DEFAULT now(),
    updated_at                   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE system_parameter (
    name       text PRIMARY KEY,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_unit (
    tenant_id  text NOT NULL REFERENCES tenant (id),
    id         text NOT NULL,
    name       text NOT NULL,
    parent_id  text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES org_unit (tenant_id, id)
);

CREATE TABLE caller_number (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id   text NOT NULL REFERENCES tenant (id),
    -- "C" collation so that the unique index also serves prefix searches (LIKE '123%').
    number      text COLLATE "C" NOT NULL CHECK (number ~ '^[0-9]{1,24}$'),
    org_unit_id text,
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 255),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, org_unit_id) REFERENCES org_unit (tenant_id, id)
);
CREATE INDEX caller_number_tenant_org_unit ON caller_number (tenant_id, org_unit_id);
CREATE INDEX caller_number_tenant_created ON caller_number (tenant_id, created_at DESC, id);

CREATE TABLE processed_command (
    tenant_id     text NOT NULL,
    command_id    uuid NOT NULL,
    command_type  text NOT NULL,
    principal_sub text NOT NULL,
    outcome       jsonb NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, command_id)
);
