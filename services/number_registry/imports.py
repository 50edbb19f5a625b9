"""Applies a batch of import rows: the tenant and OU rules, then one batched write."""

import asyncpg

from shared.access import Operation, write_refusal
from shared.contracts import ImportRowRead, ImportRowResult, ImportRowsRead
from shared.db import Connection, caller_numbers, imports, tenants
from shared.rules import Reason, Rejection, check_description

NOT_PROCESSED = Rejection(Reason.NOT_PROCESSED, "Not processed: the import was cancelled.")


async def apply(conn: Connection, batch: ImportRowsRead) -> list[ImportRowResult]:
    """One result per row; a batch delivered again gets the same results."""
    task = await imports.get_task(conn, task_id=batch.task_id)
    if task is None or task["status"] == "cancelled":
        return [_failed(row, NOT_PROCESSED) for row in batch.rows]
    policy = await tenants.load_policy(conn, tenant_id=batch.tenant_id)
    refusal = write_refusal(
        batch.principal, Operation.IMPORT, policy, target_org_units=(batch.org_unit_id,)
    ) or check_description(batch.description)
    if refusal is not None:
        return [_failed(row, refusal) for row in batch.rows]
    applied = await caller_numbers.apply_import_rows(
        conn,
        tenant_id=batch.tenant_id,
        task_id=batch.task_id,
        org_unit_id=batch.org_unit_id,
        description=batch.description,
        rows=[(row.row_number, row.number) for row in batch.rows],
    )
    by_row = {record["row_number"]: record for record in applied}
    return [_result(row, by_row[row.row_number]) for row in batch.rows]


def _result(row: ImportRowRead, applied: asyncpg.Record) -> ImportRowResult:
    first_row = applied["inserted_by_row"]
    if first_row is None and applied["existing_from_this_task"]:
        first_row = applied["existing_row"]  # written by an earlier delivery of this import
    if first_row == row.row_number:
        return ImportRowResult(row_number=row.row_number, as_written=row.as_written, succeeded=True)
    if first_row is not None:
        message = f"The number is repeated in the file; row {first_row} added it."
    else:
        message = "The number is already registered for this tenant."
    return _failed(row, Rejection(Reason.DUPLICATE, message))


def _failed(row: ImportRowRead, rejection: Rejection) -> ImportRowResult:
    return ImportRowResult(
        row_number=row.row_number,
        as_written=row.as_written,
        succeeded=False,
        reason_code=rejection.reason,
        reason=rejection.message,
    )
