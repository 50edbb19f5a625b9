"""Applies a batch of import rows: the tenant and OU rules, then one batched write."""

from uuid import UUID

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
    rows = [(row.row_number, row.number) for row in batch.rows]
    written = await caller_numbers.insert_import_rows(
        conn,
        tenant_id=batch.tenant_id,
        task_id=batch.task_id,
        org_unit_id=batch.org_unit_id,
        description=batch.description,
        rows=rows,
    )
    first_row: dict[str, int] = {}
    for row_number, number in rows:
        first_row[number] = min(row_number, first_row.get(number, row_number))
    writers: dict[str, tuple[UUID | None, int | None]] = {
        number: (batch.task_id, first_row[number]) for number in written
    }
    # Only for numbers that were there already (none, in the usual import): who wrote them.
    if missing := [number for number in first_row if number not in written]:
        writers |= await caller_numbers.writers_of(conn, tenant_id=batch.tenant_id, numbers=missing)
    return [_result(batch, row, writers.get(row.number)) for row in batch.rows]


def _result(
    batch: ImportRowsRead, row: ImportRowRead, writer: tuple[UUID | None, int | None] | None
) -> ImportRowResult:
    """Success when this row wrote the number, now or in an earlier delivery of the batch."""
    if writer == (batch.task_id, row.row_number):
        return ImportRowResult(row_number=row.row_number, as_written=row.as_written, succeeded=True)
    if writer is not None and writer[0] == batch.task_id:
        message = f"The number is repeated in the file; row {writer[1]} added it."
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
