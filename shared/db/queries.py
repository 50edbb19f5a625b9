"""Every SQL statement of the project, in one place."""

# ---- tenants, system parameters, organization units ----

INSERT_TENANT = """
INSERT INTO tenant (id, name, calling_number_anonymization, data_isolation_enforced)
VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO NOTHING
RETURNING *
"""

UPDATE_TENANT = """
UPDATE tenant SET
    name = COALESCE($2, name),
    calling_number_anonymization = COALESCE($3, calling_number_anonymization),
    data_isolation_enforced = COALESCE($4, data_isolation_enforced),
    updated_at = now()
WHERE id = $1
RETURNING *
"""

SELECT_TENANT = "SELECT * FROM tenant WHERE id = $1"

UPSERT_SYSTEM_PARAMETER = """
INSERT INTO system_parameter (name, value) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
RETURNING name, value, updated_at
"""

SELECT_SYSTEM_PARAMETER = "SELECT value FROM system_parameter WHERE name = $1"

INSERT_ORG_UNIT = """
INSERT INTO org_unit (tenant_id, id, name, parent_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id, id) DO NOTHING
RETURNING id, name, parent_id
"""

SELECT_ORG_UNITS = "SELECT id, name, parent_id FROM org_unit WHERE tenant_id = $1 ORDER BY name, id"

# ---- caller numbers ----

_SCOPE = """
    ((org_unit_id IS NULL AND $2::bool)
     OR (org_unit_id IS NOT NULL AND ($3::bool OR org_unit_id = ANY($4::text[]))))
"""

INSERT_CALLER_NUMBERS = """
INSERT INTO caller_number (tenant_id, number, org_unit_id, description)
SELECT $1, number, $3, $4 FROM unnest($2::text[]) AS number
ON CONFLICT (tenant_id, number) DO NOTHING
RETURNING id, number, org_unit_id, description
"""

SELECT_CALLER_NUMBER_BY_NUMBER_FOR_UPDATE = """
SELECT * FROM caller_number WHERE tenant_id = $1 AND number = $2 FOR UPDATE
"""

SELECT_CALLER_NUMBER_IN_SCOPE = f"""
SELECT * FROM caller_number WHERE tenant_id = $1 AND id = $5 AND {_SCOPE}
"""

UPDATE_CALLER_NUMBER = """
UPDATE caller_number SET org_unit_id = $2, description = $3, updated_at = now()
WHERE id = $1
RETURNING id, number, org_unit_id, description
"""

DELETE_CALLER_NUMBER = "DELETE FROM caller_number WHERE id = $1"

LIST_CALLER_NUMBERS = f"""
SELECT *, count(*) OVER () AS total FROM caller_number
WHERE tenant_id = $1 AND {_SCOPE}
  AND ($5::text IS NULL OR org_unit_id = $5)
  AND (NOT $6::bool OR org_unit_id IS NULL)
  AND number LIKE $7 || '%'
ORDER BY created_at DESC, id
LIMIT $8 OFFSET $9
"""

# ---- processed commands ----

CLAIM_COMMAND = """
INSERT INTO processed_command (tenant_id, command_id, command_type, principal_sub, outcome)
VALUES ($1, $2, $3, $4, '[]')
ON CONFLICT (tenant_id, command_id) DO NOTHING
RETURNING processed_at
"""

SAVE_COMMAND_OUTCOME = """
UPDATE processed_command SET outcome = $3 WHERE tenant_id = $1 AND command_id = $2
"""

SELECT_COMMAND_OUTCOME = """
SELECT outcome, processed_at FROM processed_command WHERE tenant_id = $1 AND command_id = $2
"""

# Delivered on commit; the gateway listens to answer `Prefer: wait=N` without polling.
NOTIFY_COMMAND_PROCESSED = "SELECT pg_notify('command_processed', $1)"
