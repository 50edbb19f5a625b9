"""Every SQL statement of the project, in one place."""

# ---- tenants, system parameters, organization units ----

INSERT_TENANT = """
INSERT INTO tenant
    (id, name, calling_number_anonymization, data_isolation_enforced, max_caller_numbers)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO NOTHING
RETURNING *
"""

UPDATE_TENANT = """
UPDATE tenant SET
    name = COALESCE($2, name),
    calling_number_anonymization = COALESCE($3, calling_number_anonymization),
    data_isolation_enforced = COALESCE($4, data_isolation_enforced),
    -- $5: whether the quota is given at all (null sets it to unlimited); a quota given counts
    -- the numbers afresh (under the count lock, LOCK_CALLER_NUMBER_COUNT)
    max_caller_numbers = CASE WHEN $5 THEN $6 ELSE max_caller_numbers END,
    caller_numbers_used = CASE WHEN $5 AND $6 IS NOT NULL
        THEN (SELECT count(*) FROM caller_number WHERE tenant_id = $1)
        ELSE caller_numbers_used END,
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

INSERT_ORG_UNIT = """
INSERT INTO org_unit (tenant_id, id, name, parent_id) VALUES ($1, $2, $3, $4)
ON CONFLICT (tenant_id, id) DO NOTHING
RETURNING id, name, parent_id
"""

SELECT_ORG_UNITS = "SELECT id, name, parent_id FROM org_unit WHERE tenant_id = $1 ORDER BY name, id"

# What the write rules need, in one round trip: the tenant, the system parameter $2 and each
# OU's parent (NULL row when there is no such tenant).
SELECT_TENANT_POLICY = """
SELECT t.calling_number_anonymization, t.data_isolation_enforced,
       (SELECT value FROM system_parameter WHERE name = $2) AS may_maintain,
       (SELECT coalesce(jsonb_object_agg(id, parent_id), '{}') FROM org_unit WHERE tenant_id = $1)
           AS parents,
       (SELECT coalesce(jsonb_object_agg(id, name), '{}') FROM org_unit WHERE tenant_id = $1)
           AS names
FROM tenant t WHERE t.id = $1
"""

# ---- caller numbers ----

_SCOPE = """
    ((org_unit_id IS NULL AND $2::bool)
     OR (org_unit_id IS NOT NULL AND ($3::bool OR org_unit_id = ANY($4::text[]))))
"""

# Rows in the order given, each with its OU and description: a number given twice is written
# by its first row (DO NOTHING skips a row that conflicts with one written before it).
INSERT_CALLER_NUMBERS = """
INSERT INTO caller_number (tenant_id, number, org_unit_id, description)
SELECT $1, r.number, r.ou, r.description
FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS r(number, ou, description, i)
ORDER BY r.i
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

# The list's filters: $2-$4 the caller's scope, $5 the OUs asked for (NULL: any), $6 only
# Unorganized, $7 a prefix, $8 a digit string the number contains ('' matches every number).
_LIST_FILTER = f"""
FROM caller_number c LEFT JOIN org_unit o ON o.tenant_id = c.tenant_id AND o.id = c.org_unit_id
WHERE c.tenant_id = $1 AND {_SCOPE.replace("org_unit_id", "c.org_unit_id")}
  AND ($5::text[] IS NULL OR c.org_unit_id = ANY($5::text[]))
  AND (NOT $6::bool OR c.org_unit_id IS NULL)
  AND c.number LIKE $7 || '%'
  AND strpos(c.number, $8) > 0
"""

# The list's sort orders by name; ORDER BY cannot be a parameter, so only these keys reach SQL.
# Unorganized sorts before every OU. Ties end on a unique column, so pages never overlap; for
# the creation time that is the id, as in the index caller_number_tenant_created (a whole
# import batch shares one created_at: a tie on the number sorted 250k rows for each page).
LIST_ORDERS = {
    "number": "c.number ASC",
    "-number": "c.number DESC",
    "org_unit": "o.name ASC NULLS FIRST, c.number ASC",
    "-org_unit": "o.name DESC NULLS LAST, c.number ASC",
    "created_at": "c.created_at ASC, c.id DESC",
    "-created_at": "c.created_at DESC, c.id ASC",
}

COUNT_CALLER_NUMBERS = f"SELECT count(*) {_LIST_FILTER}"


def list_caller_numbers(order: str) -> str:
    """One page ($9 rows from offset $10) in the order named by a key of LIST_ORDERS."""
    return f"SELECT c.* {_LIST_FILTER} ORDER BY {LIST_ORDERS[order]} LIMIT $9 OFFSET $10"


def export_caller_numbers(order: str) -> str:
    """Every matching number with its OU's name, for a cursor; order as in list_caller_numbers."""
    return (
        "SELECT c.number, c.org_unit_id, o.name AS org_unit_name, c.description, c.created_at "
        f"{_LIST_FILTER} ORDER BY {LIST_ORDERS[order]}"
    )


# ---- bulk delete and move: one statement per chunk, only numbers in the principal's scope ----

DELETE_CALLER_NUMBERS_IN_SCOPE = f"""
DELETE FROM caller_number WHERE tenant_id = $1 AND {_SCOPE} AND number = ANY($5::text[])
RETURNING id, number, org_unit_id, description
"""

MOVE_CALLER_NUMBERS_IN_SCOPE = f"""
UPDATE caller_number SET org_unit_id = $6, updated_at = now()
WHERE tenant_id = $1 AND {_SCOPE} AND number = ANY($5::text[])
RETURNING id, number, org_unit_id, description
"""

INSERT_BULK_OPERATION = """
INSERT INTO bulk_operation (id, tenant_id, principal_sub, action, org_unit_id, total, command_ids)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *
"""

SELECT_BULK_OPERATION = "SELECT * FROM bulk_operation WHERE tenant_id = $1 AND id = $2"

COUNT_BULK_COMMANDS_DONE = """
SELECT count(*) FROM processed_command WHERE tenant_id = $1 AND command_id = ANY($2::uuid[])
"""

COUNT_BULK_OUTCOMES = """
SELECT o.value->>'status' AS status, count(*) AS outcomes
FROM processed_command p CROSS JOIN LATERAL jsonb_array_elements(p.outcome) AS o(value)
WHERE p.tenant_id = $1 AND p.command_id = ANY($2::uuid[])
GROUP BY 1
"""

# Its outcomes in the order asked for (command by command, number by number); $3 a status or
# NULL for all.
PAGE_BULK_OUTCOMES = """
SELECT o.value AS outcome, count(*) OVER () AS total
FROM unnest($2::uuid[]) WITH ORDINALITY AS c(id, seq)
JOIN processed_command p ON p.tenant_id = $1 AND p.command_id = c.id
CROSS JOIN LATERAL jsonb_array_elements(p.outcome) WITH ORDINALITY AS o(value, i)
WHERE $3::text IS NULL OR o.value->>'status' = $3
ORDER BY c.seq, o.i
LIMIT $4 OFFSET $5
"""

# ---- processed commands ----

# Pending: sent by the gateway, not processed yet (outcome NULL).
INSERT_PENDING_COMMAND = """
INSERT INTO processed_command (tenant_id, command_id, command_type, principal_sub, outcome)
VALUES ($1, $2, $3, $4, NULL)
ON CONFLICT (tenant_id, command_id) DO NOTHING
"""

# A command that was never sent gets its outcome at once; if it did reach the registry after
# all, whichever outcome is stored first stands and the other is a no-op (CLAIM_COMMAND).
INSERT_UNSENT_COMMAND = """
INSERT INTO processed_command (tenant_id, command_id, command_type, principal_sub, outcome)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (tenant_id, command_id) DO NOTHING
"""

DELETE_PENDING_COMMAND = """
DELETE FROM processed_command WHERE tenant_id = $1 AND command_id = $2 AND outcome IS NULL
"""

# A pending command is claimed like a new one; a processed one is not claimed again.
CLAIM_COMMAND = """
INSERT INTO processed_command (tenant_id, command_id, command_type, principal_sub, outcome)
VALUES ($1, $2, $3, $4, '[]')
ON CONFLICT (tenant_id, command_id) DO UPDATE SET outcome = '[]', processed_at = now()
WHERE processed_command.outcome IS NULL
RETURNING processed_at
"""

# The commands of one batch claimed in one statement, as CLAIM_COMMAND each ($2..$4: id, type,
# principal per command; no id twice).
CLAIM_COMMANDS = """
INSERT INTO processed_command (tenant_id, command_id, command_type, principal_sub, outcome)
SELECT $1, c.id, c.type, c.sub, '[]'
FROM unnest($2::uuid[], $3::text[], $4::text[]) AS c(id, type, sub)
ON CONFLICT (tenant_id, command_id) DO UPDATE SET outcome = '[]', processed_at = now()
WHERE processed_command.outcome IS NULL
RETURNING command_id, processed_at
"""

SELECT_COMMAND_OUTCOMES = """
SELECT command_id, outcome, processed_at FROM processed_command
WHERE tenant_id = $1 AND command_id = ANY($2::uuid[])
"""

# Each outcome ($3, JSON text) saved, and each command's NOTIFY sent, in one statement. The
# payload is a JSON array: [tenant, command id, processed_at, outcome] when that fits the
# payload's 8000 bytes, so that a waiting request need not read the outcome back, else
# [tenant, command id] (services/api_gateway/waiter.py).
SAVE_COMMAND_OUTCOMES = """
WITH saved AS (
    UPDATE processed_command p SET outcome = o.outcome::jsonb
    FROM unnest($2::uuid[], $3::text[]) AS o(id, outcome)
    WHERE p.tenant_id = $1 AND p.command_id = o.id
    RETURNING p.command_id, json_build_array($1::text, p.command_id, p.processed_at,
                                             o.outcome::json)::text AS carrying
)
SELECT count(pg_notify('command_processed', CASE
    WHEN octet_length(carrying) < 7900 THEN carrying
    ELSE json_build_array($1::text, command_id)::text END))
FROM saved
"""

SELECT_COMMAND = """
SELECT outcome, processed_at, principal_sub FROM processed_command
WHERE tenant_id = $1 AND command_id = $2
"""


# ---- import tasks ----


INSERT_IMPORT_TASK = """
INSERT INTO import_task (id, tenant_id, principal, file_name, idempotency_key, idempotency_sub)
VALUES ($1, $2, $3, $4, $5, CASE WHEN $5::text IS NULL THEN NULL ELSE $3::jsonb->>'sub' END)
ON CONFLICT (tenant_id, idempotency_sub, idempotency_key) DO NOTHING
RETURNING *
"""

SELECT_IMPORT_TASK_BY_KEY = """
SELECT * FROM import_task WHERE tenant_id = $1 AND idempotency_sub = $2 AND idempotency_key = $3
"""

FINISH_IMPORT_UPLOAD = """
UPDATE import_task
SET file_name = $2, org_unit_id = $3, description = $4, file_size = $5, upload_sha256 = $6,
    content_sha256 = $7, dry_run = $8
WHERE id = $1
RETURNING *
"""

# The newest task the caller may see that imported a file of the same content lately: a real
# import (no dry run) that did not fail.
SELECT_EARLIER_IMPORT_OF_CONTENT = f"""
SELECT * FROM import_task
WHERE tenant_id = $1 AND {_SCOPE} AND content_sha256 = $5 AND id <> $6
  AND NOT dry_run AND status <> 'failed' AND created_at > now() - make_interval(secs => $7)
ORDER BY created_at DESC
LIMIT 1
"""

# "Import for real": a completed dry run whose file is still there is taken once, and the new
# task gets its settings and (moved, not copied) its file.
CLAIM_IMPORT_PREVIEW = """
UPDATE import_task SET imported_as = $2
WHERE id = $1 AND dry_run AND status = 'completed' AND imported_as IS NULL
  AND results_deleted_at IS NULL
RETURNING *
"""

INSERT_IMPORT_FROM_PREVIEW = """
INSERT INTO import_task (id, tenant_id, principal, file_name, file_size, org_unit_id, description,
                         upload_sha256, content_sha256, preview_of)
SELECT $1, tenant_id, $3, file_name, file_size, org_unit_id, description,
       upload_sha256, content_sha256, id
FROM import_task WHERE id = $2
RETURNING *
"""

MOVE_IMPORT_FILE = "UPDATE import_file_chunk SET task_id = $2 WHERE task_id = $1"

INSERT_IMPORT_FILE_CHUNK = "INSERT INTO import_file_chunk (task_id, seq, data) VALUES ($1, $2, $3)"

SELECT_IMPORT_FILE_CHUNKS = "SELECT data FROM import_file_chunk WHERE task_id = $1 ORDER BY seq"

# Once a task is final nobody reads its file again: up to 100 MiB given back.
DELETE_IMPORT_FILE = "DELETE FROM import_file_chunk WHERE task_id = $1"

SELECT_IMPORT_TASK = "SELECT * FROM import_task WHERE id = $1"

# A task is seen by who may see its target OU.
SELECT_IMPORT_TASK_IN_SCOPE = f"""
SELECT * FROM import_task WHERE tenant_id = $1 AND id = $5 AND {_SCOPE}
"""

LIST_IMPORT_TASKS = f"""
SELECT *, count(*) OVER () AS total FROM import_task
WHERE tenant_id = $1 AND {_SCOPE}
ORDER BY created_at DESC, id
LIMIT $5 OFFSET $6
"""

# ---- the import task's state machine: only shared/db/imports.py runs these ----

# Reading is not done while rows_total is unknown or rows_read is short of it.
_READING = "(rows_total IS NULL OR rows_read < rows_total)"

# Taken when nobody holds the lease and reading is not done; the holder renews it as it reads.
# A pending task starts only while its tenant has fewer than $3 imports running (or claimed to
# start); otherwise it stays pending and a later take-over pass tries again.
CLAIM_IMPORT_TASK = f"""
UPDATE import_task
SET lease_until = now() + make_interval(secs => $2), read_attempts = read_attempts + 1
WHERE id = $1 AND status IN ('pending', 'running', 'cancelling')
  AND (lease_until IS NULL OR lease_until < now()) AND {_READING}
  AND (status <> 'pending' OR (
    SELECT count(*) FROM import_task AS other
    WHERE other.tenant_id = import_task.tenant_id AND other.id <> $1
      AND (other.status IN ('running', 'cancelling')
           OR (other.status = 'pending' AND other.lease_until > now()))
  ) < $3)
RETURNING *
"""

# Claims of one tenant's imports take turns, so that two workers cannot both start the last one
# the limit allows.
LOCK_TENANT_IMPORTS = """
SELECT pg_advisory_xact_lock(hashtext('import_task:' || tenant_id)) FROM import_task WHERE id = $1
"""

# Pending ones get `$1` seconds for their Kafka command to arrive before they are picked up here.
SELECT_IMPORT_TASKS_TO_TAKE_OVER = f"""
SELECT id, tenant_id FROM import_task
WHERE status IN ('pending', 'running', 'cancelling')
  AND (lease_until IS NULL OR lease_until < now())
  AND (status <> 'pending' OR created_at < now() - make_interval(secs => $1))
  AND {_READING}
ORDER BY created_at
"""

# pending → running; a cancelling task keeps its state and learns its total.
START_IMPORT_TASK = """
UPDATE import_task
SET status = CASE WHEN status = 'pending' THEN 'running' ELSE status END,
    rows_total = $2, started_at = coalesce(started_at, now()), progress_at = now(),
    lease_until = now() + make_interval(secs => $3)
WHERE id = $1 AND status IN ('pending', 'running', 'cancelling')
RETURNING *
"""

# Reading moved on: progress, and the read attempts start again from this one.
CHECKPOINT_IMPORT_TASK = """
UPDATE import_task
SET rows_read = $2, last_row_sent = $3, lease_until = now() + make_interval(secs => $4),
    progress_at = now(), read_attempts = 1
WHERE id = $1 AND status IN ('running', 'cancelling')
RETURNING *
"""

# A graceful stop gives back the attempt its claim took.
RELEASE_IMPORT_TASK = """
UPDATE import_task SET lease_until = NULL, read_attempts = greatest(read_attempts - 1, 0)
WHERE id = $1
"""

FAIL_IMPORT_TASK = """
UPDATE import_task
SET status = 'failed', error_code = $2, error_message = $3, finished_at = now(), lease_until = NULL
WHERE id = $1 AND status IN ('pending', 'running', 'cancelling')
RETURNING *
"""

CANCEL_IMPORT_TASK = """
UPDATE import_task SET status = 'cancelling'
WHERE id = $1 AND status IN ('pending', 'running')
RETURNING *
"""

# running → completed, cancelling → cancelled: reading done and every data row has a result.
FINISH_IMPORT_TASK_IF_DONE = """
UPDATE import_task
SET status = CASE WHEN status = 'running' THEN 'completed' ELSE 'cancelled' END,
    finished_at = now(), lease_until = NULL
WHERE id = $1 AND status IN ('running', 'cancelling')
  AND rows_read >= rows_total AND succeeded + failed + not_processed >= rows_total
RETURNING *
"""

# Each row's first result, and the counters by what it added, in one statement: the counts
# come back instead of a row per result ($9, $10: the not_processed and duplicate codes).
RECORD_IMPORT_ROW_RESULTS = """
WITH recorded AS (
    INSERT INTO import_row_result
        (task_id, row_number, number_as_written, succeeded, reason_code, reason, org_unit,
         description)
    SELECT $1, row_number, as_written, succeeded, reason_code, coalesce(reason, ''), org_unit,
           description
    FROM unnest(
        $2::int[], $3::text[], $4::bool[], $5::text[], $6::text[], $7::text[], $8::text[]
    ) AS row (row_number, as_written, succeeded, reason_code, reason, org_unit, description)
    -- A final task's counters and report no longer change (nor come back after retention).
    WHERE EXISTS (
        SELECT FROM import_task WHERE id = $1 AND status IN ('pending', 'running', 'cancelling')
    )
    ON CONFLICT (task_id, row_number) DO NOTHING
    RETURNING succeeded, reason_code
), added AS (
    SELECT count(*) FILTER (WHERE succeeded) AS succeeded,
           count(*) FILTER (WHERE NOT succeeded AND reason_code IS DISTINCT FROM $9) AS failed,
           count(*) FILTER (WHERE reason_code = $10) AS duplicates,
           count(*) FILTER (WHERE reason_code = $9) AS not_processed
    FROM recorded
)
UPDATE import_task t
SET succeeded = t.succeeded + a.succeeded, failed = t.failed + a.failed,
    duplicates = t.duplicates + a.duplicates, not_processed = t.not_processed + a.not_processed,
    progress_at = CASE WHEN a.succeeded + a.failed + a.not_processed > 0 THEN now()
                       ELSE t.progress_at END
FROM added a
-- A final task's row is not written again (nor waited for while its report is written).
WHERE t.id = $1 AND t.status IN ('pending', 'running', 'cancelling')
RETURNING t.*
"""

# The registry writes a task's rows under a shared lock; settling lost rows takes it alone.
LOCK_IMPORT_TASK_SHARED = "SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 13))"
LOCK_IMPORT_TASK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 13))"

SELECT_IMPORT_TASK_FOR_WRITING = "SELECT status, principal FROM import_task WHERE id = $1"

SELECT_STALLED_IMPORT_TASKS = """
SELECT id, tenant_id FROM import_task
WHERE status IN ('pending', 'running', 'cancelling')
  AND (lease_until IS NULL OR lease_until < now())
  AND progress_at < now() - make_interval(secs => $1)
ORDER BY created_at
"""

SELECT_ROWS_WITHOUT_RESULT = """
SELECT wanted.row_number FROM unnest($2::int[]) AS wanted (row_number)
WHERE NOT EXISTS (
    SELECT FROM import_row_result r WHERE r.task_id = $1 AND r.row_number = wanted.row_number
)
"""

SELECT_ROWS_WRITTEN_BY_TASK = """
SELECT import_row FROM caller_number
WHERE tenant_id = $1 AND import_task_id = $2 AND import_row = ANY($3::int[])
"""

# ---- retention of finished imports ----

SELECT_IMPORT_TASKS_PAST_RETENTION = """
SELECT id, tenant_id FROM import_task
WHERE results_deleted_at IS NULL AND finished_at IS NOT NULL
  AND status IN ('completed', 'failed', 'cancelled')
  AND finished_at < now() - make_interval(secs => $1)
ORDER BY finished_at
"""

MARK_IMPORT_RESULTS_DELETED = """
UPDATE import_task SET results_deleted_at = now()
WHERE id = $1 AND results_deleted_at IS NULL AND status IN ('completed', 'failed', 'cancelled')
RETURNING id
"""

DELETE_IMPORT_ROW_RESULTS = "DELETE FROM import_row_result WHERE task_id = $1"

# ---- the stored report (written once when the task completes or is cancelled) ----

# Who writes the report holds the task row: a second writer skips it, nobody writes it twice.
LOCK_IMPORT_TASK_FOR_REPORT = """
SELECT id FROM import_task
WHERE id = $1 AND status IN ('completed', 'cancelled')
  AND report_stored_at IS NULL AND results_deleted_at IS NULL
FOR NO KEY UPDATE SKIP LOCKED
"""

INSERT_IMPORT_REPORT_CHUNK = (
    "INSERT INTO import_report_chunk (task_id, format, seq, data) VALUES ($1, $2, $3, $4)"
)

MARK_IMPORT_REPORT_STORED = "UPDATE import_task SET report_stored_at = now() WHERE id = $1"

SELECT_IMPORT_REPORT_CHUNKS = """
SELECT data FROM import_report_chunk WHERE task_id = $1 AND format = $2 ORDER BY seq
"""

SELECT_IMPORT_REPORT_SIZE = """
SELECT coalesce(sum(octet_length(data)), 0) FROM import_report_chunk
WHERE task_id = $1 AND format = $2
"""

DELETE_IMPORT_REPORT = "DELETE FROM import_report_chunk WHERE task_id = $1"

SELECT_IMPORT_TASKS_WITHOUT_REPORT = """
SELECT id, tenant_id FROM import_task
WHERE report_stored_at IS NULL AND status IN ('completed', 'cancelled')
  AND results_deleted_at IS NULL
ORDER BY finished_at
"""

SELECT_IMPORT_ROW_RESULTS = """
SELECT row_number, number_as_written, succeeded, reason, org_unit, description
FROM import_row_result
WHERE task_id = $1 ORDER BY row_number
"""

# The same, with each row's outcome in the dry run ($2) the import was started from.
SELECT_IMPORT_ROW_RESULTS_WITH_PREVIEW = """
SELECT r.row_number, r.number_as_written, r.succeeded, r.reason, r.org_unit, r.description,
       r.reason_code, p.succeeded AS preview_succeeded, p.reason_code AS preview_reason_code
FROM import_row_result r
LEFT JOIN import_row_result p ON p.task_id = $2 AND p.row_number = r.row_number
WHERE r.task_id = $1 ORDER BY r.row_number
"""

# ---- import rows applied by the registry ----

# The first row of the batch holding a number writes it; each row written remembers its task.
INSERT_IMPORT_ROWS = """
INSERT INTO caller_number (tenant_id, number, org_unit_id, description, import_task_id, import_row)
SELECT DISTINCT ON (number) $1, number, org_unit_id, coalesce(description, ''), $2, row_number
FROM unnest($3::int[], $4::text[], $5::text[], $6::text[])
    AS row (row_number, number, org_unit_id, description)
ORDER BY number, row_number
ON CONFLICT (tenant_id, number) DO NOTHING
RETURNING number
"""

# A dry run writes no number: it records the numbers it has seen, the first row of each, and
# returns those new to the tenant and to the file, as INSERT_IMPORT_ROWS would write them.
INSERT_PREVIEW_NUMBERS = """
INSERT INTO import_preview_number (tenant_id, task_id, number, row_number)
SELECT DISTINCT ON (number) $1, $2, number, row_number
FROM unnest($3::int[], $4::text[]) AS row (row_number, number)
WHERE NOT EXISTS (SELECT FROM caller_number c WHERE c.tenant_id = $1 AND c.number = row.number)
ORDER BY number, row_number
ON CONFLICT (task_id, number) DO NOTHING
RETURNING number
"""

COUNT_PREVIEW_NUMBERS = """
SELECT count(*) FROM import_preview_number WHERE task_id = $1
"""

# The numbers of a dry run past the tenant's quota: not numbers the import would create.
FORGET_PREVIEW_NUMBERS = """
DELETE FROM import_preview_number WHERE task_id = $1 AND number = ANY($2::text[])
"""

SELECT_PREVIEW_WRITERS = """
SELECT number, task_id AS import_task_id, row_number AS import_row FROM import_preview_number
WHERE task_id = $1 AND number = ANY($2::text[])
"""

SELECT_PREVIEW_ROWS = """
SELECT row_number AS import_row FROM import_preview_number
WHERE task_id = $2 AND row_number = ANY($3::int[]) AND tenant_id = $1
"""

DELETE_PREVIEW_NUMBERS = "DELETE FROM import_preview_number WHERE task_id = $1"

SELECT_NUMBERS_WRITTEN_BY = """
SELECT number, import_task_id, import_row FROM caller_number
WHERE tenant_id = $1 AND number = ANY($2::text[])
"""

# ---- the audit history (written by triggers on caller_number, migration 0012) ----

# Who acts and by what, for the triggers; transaction-local, so each command sets its own.
SET_AUDIT_ACTOR = """
SELECT set_config('app.audit_sub', $1, true), set_config('app.audit_role', $2, true),
       set_config('app.audit_command_id', $3, true),
       set_config('app.audit_bulk_operation_id', $4, true),
       set_config('app.audit_by_number', $5, true)
"""

# A record is seen by who may see the OU the number was in before or is in after the change.
_AUDIT_SCOPE = f"""
    ((action <> 'created' AND {_SCOPE.replace("org_unit_id", "org_unit_id_before")})
     OR (action <> 'deleted' AND {_SCOPE.replace("org_unit_id", "org_unit_id_after")}))
"""

# Newest first; $5 a number, $6 a caller number id (found by its digits: in caller_number while
# it lives, in its `deleted` record after), $7 a principal's sub, $8/$9 changed at or after /
# before, $10 the cursor (records older than this id); NULL: no such filter.
_AUDIT_FILTER = f"""
FROM caller_number_audit
WHERE tenant_id = $1 AND {_AUDIT_SCOPE}
  AND ($5::text IS NULL OR number = $5)
  AND ($6::uuid IS NULL OR (caller_number_id = $6 AND number = (
        SELECT c.number FROM caller_number c WHERE c.tenant_id = $1 AND c.id = $6
        UNION ALL
        SELECT d.number FROM caller_number_audit d
        WHERE d.tenant_id = $1 AND d.caller_number_id = $6 AND d.action = 'deleted'
        LIMIT 1)))
  AND ($7::text IS NULL OR principal_sub = $7)
  AND ($8::timestamptz IS NULL OR changed_at >= $8)
  AND ($9::timestamptz IS NULL OR changed_at < $9)
  AND ($10::bigint IS NULL OR id < $10)
"""

PAGE_AUDIT = f"SELECT * {_AUDIT_FILTER} ORDER BY id DESC LIMIT $11"

EXPORT_AUDIT = f"SELECT * {_AUDIT_FILTER} ORDER BY id DESC"

# Retention: a batch at a time, so that no transaction holds millions of rows.
DELETE_AUDIT_BEFORE = """
DELETE FROM caller_number_audit WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM caller_number_audit WHERE changed_at < $1 LIMIT $2
))
"""

# ---- the quota: the tenant's maximum of caller numbers (migration 0013) ----

# The count is kept only while there is a quota; without one, the numbers are counted.
SELECT_CALLER_NUMBER_USAGE = """
SELECT CASE WHEN max_caller_numbers IS NULL
            THEN (SELECT count(*) FROM caller_number WHERE tenant_id = $1)
            ELSE caller_numbers_used END AS used,
       max_caller_numbers AS allowed
FROM tenant WHERE id = $1
"""

# Taken alone to count a tenant's numbers: waits for its writers in flight (each holds it shared
# from its insert or delete to its commit, migration 0013) and holds off new ones until commit.
# The tenant row first, as a quota's writers take it (quotas.admit) before their count lock: the
# same order, so neither waits for the other in a circle.
LOCK_CALLER_NUMBER_COUNT = """
SELECT pg_advisory_xact_lock(caller_number_count_lock(id)) FROM (
    SELECT id FROM tenant WHERE id = $1 FOR NO KEY UPDATE OFFSET 0
) AS locked
"""

# Only a tenant with a quota is locked: its adds and imports take turns from here to commit, so
# that two of them cannot both take the last places. Unlimited tenants' writes never wait here.
LOCK_CALLER_NUMBER_QUOTA = """
SELECT caller_numbers_used AS used, max_caller_numbers AS allowed FROM tenant
WHERE id = $1 AND max_caller_numbers IS NOT NULL
FOR NO KEY UPDATE
"""

SELECT_EXISTING_NUMBERS = """
SELECT number FROM caller_number WHERE tenant_id = $1 AND number = ANY($2::text[])
"""
