"""Applies a batch of import rows: the tenant and OU rules, then one batched write."""

import logging
from uuid import UUID

from shared import metrics
from shared.access import Operation, write_refusal
from shared.contracts import ImportRowRead, ImportRowResult, ImportRowsRead
from shared.db import Connection, caller_numbers, imports, tenants
from shared.db.imports import Status
from shared.faults import fail_point
from shared.kafka import TRANSIENT_ERRORS
from shared.rules import NOT_APPLIED, NOT_PROCESSED, Reason, Rejection, check_description

log = logging.getLogger(__name__)


async def apply(conn: Connection, batch: ImportRowsRead) -> list[ImportRowResult]:
    """One result per row; a batch delivered again gets the same results.

    Only a running task's rows are written. Once it is cancelling (or final), a batch only
    answers: rows this task wrote before succeeded, the others were not processed."""
    metrics.IMPORT_ROWS_APPLIED.inc(len(batch.rows))
    status = await imports.lock_for_writing(conn, task_id=batch.task_id)
    if status is not Status.RUNNING:
        return await _answer_without_writing(conn, batch)
    policy = await tenants.load_policy(conn, tenant_id=batch.tenant_id)
    refusal = write_refusal(
        batch.principal, Operation.IMPORT, policy, target_org_units=(batch.org_unit_id,)
    ) or check_description(batch.description)
    if refusal is not None:
        return [_failed(row, refusal) for row in batch.rows]
    return await _write_splitting(conn, batch, batch.rows)


async def _write_splitting(
    conn: Connection, batch: ImportRowsRead, rows: list[ImportRowRead]
) -> list[ImportRowResult]:
    """Write the rows; when that fails, split them in halves and try each, down to the single
    rows that cannot be applied: those fail alone with `not_applied`. Outages are not split:
    they propagate and the batch comes again."""
    try:
        async with conn.transaction():  # a savepoint: a failed half leaves the others intact
            return await _write(conn, batch, rows)
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:
        if len(rows) == 1:
            log.error(
                "import %s row %d not applied: %s: %s",
                batch.task_id,
                rows[0].row_number,
                type(error).__name__,
                error,
            )
            return [_failed(rows[0], NOT_APPLIED)]
        half = len(rows) // 2
        return await _write_splitting(conn, batch, rows[:half]) + await _write_splitting(
            conn, batch, rows[half:]
        )


async def _write(
    conn: Connection, batch: ImportRowsRead, rows: list[ImportRowRead]
) -> list[ImportRowResult]:
    for row in rows:
        fail_point("registry.import_row", row.number)
    pairs = [(row.row_number, row.number) for row in rows]
    written = await caller_numbers.insert_import_rows(
        conn,
        tenant_id=batch.tenant_id,
        task_id=batch.task_id,
        org_unit_id=batch.org_unit_id,
        description=batch.description,
        rows=pairs,
    )
    first_row: dict[str, int] = {}
    for row_number, number in pairs:
        first_row[number] = min(row_number, first_row.get(number, row_number))
    writers: dict[str, tuple[UUID | None, int | None]] = {
        number: (batch.task_id, first_row[number]) for number in written
    }
    # Only for numbers that were there already (none, in the usual import): who wrote them.
    if missing := [number for number in first_row if number not in written]:
        writers |= await caller_numbers.writers_of(conn, tenant_id=batch.tenant_id, numbers=missing)
    return [_result(batch, row, writers.get(row.number)) for row in rows]


async def _answer_without_writing(conn: Connection, batch: ImportRowsRead) -> list[ImportRowResult]:
    written = await imports.rows_written(
        conn,
        tenant_id=batch.tenant_id,
        task_id=batch.task_id,
        rows=[row.row_number for row in batch.rows],
    )
    return [
        _succeeded(row) if row.row_number in written else _failed(row, NOT_PROCESSED)
        for row in batch.rows
    ]


def _result(
    batch: ImportRowsRead, row: ImportRowRead, writer: tuple[UUID | None, int | None] | None
) -> ImportRowResult:
    """Success when this row wrote the number, now or in an earlier delivery of the batch."""
    if writer == (batch.task_id, row.row_number):
        return _succeeded(row)
    if writer is not None and writer[0] == batch.task_id:
        message = f"The number is repeated in the file; row {writer[1]} added it."
    else:
        message = "The number is already registered for this tenant."
    return _failed(row, Rejection(Reason.DUPLICATE, message))


# model_construct: the fields come typed from a validated batch, and validating a million
# results again was a sixth of the registry's CPU on a large import.
def _succeeded(row: ImportRowRead) -> ImportRowResult:
    return ImportRowResult.model_construct(
        row_number=row.row_number, as_written=row.as_written, succeeded=True
    )


def _failed(row: ImportRowRead, rejection: Rejection) -> ImportRowResult:
    return ImportRowResult.model_construct(
        row_number=row.row_number,
        as_written=row.as_written,
        succeeded=False,
        reason_code=rejection.reason,
        reason=rejection.message,
    )
