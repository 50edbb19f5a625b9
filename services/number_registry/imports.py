"""Applies a batch of import rows: the tenant and OU rules, then one batched write of the
numbers and of each row's result, in one transaction: a row written always has its result."""

import logging
from uuid import UUID

from services.number_registry.row_targets import RowTargets, Target
from shared import metrics
from shared.access import Operation, write_refusal
from shared.contracts import ImportRowRead, ImportRowsRead
from shared.db import Connection, audit, caller_numbers, imports, quotas, tenants
from shared.db.imports import RowResult, Status
from shared.faults import fail_point
from shared.kafka import TRANSIENT_ERRORS
from shared.rules import NOT_APPLIED, NOT_PROCESSED, Reason, Rejection

log = logging.getLogger(__name__)


async def apply(conn: Connection, batch: ImportRowsRead) -> list[RowResult]:
    """One result per row, stored and counted with the rows (`imports.store_results`); a batch
    delivered again gets the same results, and counts nothing again. Call in the tenant's
    transaction.

    Only a running task's rows are written. Once it is cancelling (or final), a batch only
    answers: rows this task wrote before succeeded, the others were not processed."""
    metrics.IMPORT_ROWS_APPLIED.inc(len(batch.rows))
    results = await _decide(conn, batch)
    await imports.store_results(conn, task_id=batch.task_id, results=results)
    metrics.count_row_results(results)
    return results


async def _decide(conn: Connection, batch: ImportRowsRead) -> list[RowResult]:
    writing = await imports.lock_for_writing(conn, task_id=batch.task_id)
    if writing is None or writing.status is not Status.RUNNING:
        return await _answer_without_writing(conn, batch)
    policy = await tenants.load_policy(conn, tenant_id=batch.tenant_id)
    # The uploader's rights, as recorded with the task; the batch carries the worker's name.
    refusal = write_refusal(writing.uploader, Operation.IMPORT, policy)
    if policy is None or refusal is not None:
        refusal = refusal or Rejection(Reason.TENANT_NOT_FOUND, "The tenant does not exist.")
        return [_failed(row, refusal) for row in batch.rows]
    targets = RowTargets(
        policy,
        policy.scope_of(writing.uploader),
        org_unit_id=batch.org_unit_id,
        description=batch.description,
    )
    # Each row's own OU and description first; the quota then counts only the placed rows
    # (_write), for dry runs and imports alike.
    placed: list[Placed] = []
    refused: dict[int, RowResult] = {}
    for row in batch.rows:
        target = targets.of(row)
        if isinstance(target, Target):
            placed.append((row, target))
        else:
            refused[row.row_number] = _failed(row, target, *targets.asked(row))
    await audit.set_actor(conn, principal=writing.uploader)  # the numbers name task and row
    written = (
        {r.row_number: r for r in await _write_splitting(conn, batch, placed)} if placed else {}
    )
    return [refused.get(row.row_number) or written[row.row_number] for row in batch.rows]


Placed = tuple[ImportRowRead, Target]


async def _write_splitting(
    conn: Connection, batch: ImportRowsRead, rows: list[Placed]
) -> list[RowResult]:
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
            row, target = rows[0]
            log.error(
                "import %s row %d not applied: %s: %s",
                batch.task_id,
                row.row_number,
                type(error).__name__,
                error,
            )
            return [_failed(row, NOT_APPLIED, target.org_unit_path, target.description)]
        half = len(rows) // 2
        return await _write_splitting(conn, batch, rows[:half]) + await _write_splitting(
            conn, batch, rows[half:]
        )


async def _write(conn: Connection, batch: ImportRowsRead, rows: list[Placed]) -> list[RowResult]:
    """Decision: a dry run goes through the same rules and the same outcome logic; only its
    two statements differ: it records the numbers it has seen in import_preview_number (found
    there when repeated further down the file) instead of writing caller numbers."""
    for row, _ in rows:
        fail_point("registry.import_row", row.number)
    if batch.dry_run:
        pairs = [(row.row_number, row.number) for row, _ in rows]
        written = await caller_numbers.insert_preview_rows(
            conn, tenant_id=batch.tenant_id, task_id=batch.task_id, rows=pairs
        )
        new = [number for number in dict.fromkeys(n for _, n in pairs) if number in written]
        admission = await quotas.admit_preview(
            conn, tenant_id=batch.tenant_id, task_id=batch.task_id, new_numbers=new
        )
        written -= admission.over_quota
        over_quota = _over_quota(rows, admission)
        rows = [(row, target) for row, target in rows if row.row_number not in over_quota]
    else:
        # The first new numbers in row order get the places the tenant's quota has left.
        admission = await quotas.admit(
            conn, tenant_id=batch.tenant_id, numbers=[row.number for row, _ in rows]
        )
        over_quota = _over_quota(rows, admission)
        rows = [(row, target) for row, target in rows if row.row_number not in over_quota]
        written = await caller_numbers.insert_import_rows(
            conn,
            tenant_id=batch.tenant_id,
            task_id=batch.task_id,
            rows=[
                (row.row_number, row.number, target.org_unit_id, target.description)
                for row, target in rows
            ],
        )
    first_row: dict[str, int] = {}
    for row, _ in rows:
        first_row[row.number] = min(row.row_number, first_row.get(row.number, row.row_number))
    writers: dict[str, tuple[UUID | None, int | None]] = {
        number: (batch.task_id, first_row[number]) for number in written
    }
    # Only for numbers that were there already (none, in the usual import): who wrote them.
    if missing := [number for number in first_row if number not in written]:
        if batch.dry_run:
            writers |= await caller_numbers.preview_writers_of(
                conn, task_id=batch.task_id, numbers=missing
            )
        writers |= await caller_numbers.writers_of(
            conn, tenant_id=batch.tenant_id, numbers=[n for n in missing if n not in writers]
        )
    results = [_result(batch, row, target, writers.get(row.number)) for row, target in rows]
    return results + list(over_quota.values())


def _over_quota(rows: list[Placed], admission: quotas.Admission) -> dict[int, RowResult]:
    """The rows whose number is past the tenant's quota, by row number, failed with why."""
    return {
        row.row_number: _failed(
            row, admission.rejection(), target.org_unit_path, target.description
        )
        for row, target in rows
        if row.number in admission.over_quota
    }


async def _answer_without_writing(conn: Connection, batch: ImportRowsRead) -> list[RowResult]:
    written = await imports.rows_written(
        conn,
        tenant_id=batch.tenant_id,
        task_id=batch.task_id,
        rows=[row.row_number for row in batch.rows],
        dry_run=batch.dry_run,
    )
    return [
        _succeeded(row, row.org_unit, row.description)
        if row.row_number in written
        else _failed(row, NOT_PROCESSED)
        for row in batch.rows
    ]


def _result(
    batch: ImportRowsRead,
    row: ImportRowRead,
    target: Target,
    writer: tuple[UUID | None, int | None] | None,
) -> RowResult:
    """Success when this row wrote the number, now or in an earlier delivery of the batch."""
    shown = target.org_unit_path, target.description
    if writer == (batch.task_id, row.row_number):
        return _succeeded(row, *shown)
    if writer is not None and writer[0] == batch.task_id:
        message = f"The number is repeated in the file; row {writer[1]} added it."
    else:
        message = "The number is already registered for this tenant."
    return _failed(row, Rejection(Reason.DUPLICATE, message), *shown)


def _succeeded(row: ImportRowRead, org_unit: str | None, description: str | None) -> RowResult:
    return RowResult(row.row_number, row.as_written, True, None, "", org_unit, description or None)


def _failed(
    row: ImportRowRead,
    rejection: Rejection,
    org_unit: str | None = None,
    description: str | None = None,
) -> RowResult:
    return RowResult(
        row.row_number,
        row.as_written,
        False,
        rejection.reason,
        rejection.message,
        org_unit if org_unit is not None else row.org_unit,
        (description if description is not None else row.description) or None,
    )
