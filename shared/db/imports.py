"""The import task: its one state machine, its file and its per-row results.

Only this module changes a task's status. Every transition is one SQL statement that names
the states it leaves (a compare-and-set on `status`), so concurrent services, on any host,
cannot race: a transition that finds the task elsewhere changes nothing and returns None.

    pending ──start──► running ──finish──► completed
       │                  │
       ├──────cancel──────┴──► cancelling ──finish──► cancelled
       └──── fail (pending, running, cancelling) ──► failed

`finish` happens when reading is done and every data row has a result (its report line):
the worker finishes the task once the last of them is stored, by a registry or by itself.
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, NamedTuple
from uuid import UUID

import asyncpg

from shared.access import OrgScope
from shared.contracts import (
    ImportCancelled,
    ImportCompleted,
    ImportCounters,
    ImportFailed,
    ImportProgressed,
    ImportStarted,
    ImportTaskEvent,
    Principal,
)
from shared.db import Connection, queries, sparse
from shared.db.caller_numbers import scope_args
from shared.rules import Reason


class Status(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL


FINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED})
# The states each transition leaves; its SQL says the same (tests/integration checks it).
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "start": (frozenset({Status.PENDING}), Status.RUNNING),
    "cancel": (frozenset({Status.PENDING, Status.RUNNING}), Status.CANCELLING),
    "complete": (frozenset({Status.RUNNING}), Status.COMPLETED),
    "finish_cancel": (frozenset({Status.CANCELLING}), Status.CANCELLED),
    "fail": (frozenset({Status.PENDING, Status.RUNNING, Status.CANCELLING}), Status.FAILED),
}


@dataclass(frozen=True, slots=True)
class ImportTask:
    """One import task as stored; change it only through this module's transitions."""

    id: UUID
    tenant_id: str
    principal: dict[str, Any]
    org_unit_id: str | None
    description: str
    file_name: str
    file_size: int
    idempotency_key: str | None
    status: Status
    error_code: str | None
    error_message: str | None
    rows_total: int | None
    rows_read: int
    last_row_sent: int  # the spreadsheet row up to which rows are sent: where a resume goes on
    succeeded: int
    failed: int
    duplicates: int
    not_processed: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    lease_until: datetime | None
    read_attempts: int  # claims since reading last moved on: crashes at the same checkpoint
    upload_sha256: str | None  # what an Idempotency-Key was sent with (None: still uploading)
    progress_at: datetime
    results_deleted_at: datetime | None
    report_stored_at: datetime | None  # the report is offered for download from then on
    dry_run: bool  # checks every row, writes no number; its file is kept to import it for real
    preview_of: UUID | None  # the dry run this import was started from ("Import for real")
    imported_as: UUID | None  # on a dry run: the import started from it
    content_sha256: str | None  # of the file's bytes alone: the duplicate-file warning

    @classmethod
    def of(cls, record: asyncpg.Record) -> "ImportTask":
        values = {field.name: record[field.name] for field in fields(cls)}
        return cls(**{**values, "status": Status(record["status"])})

    @property
    def counters(self) -> ImportCounters:
        return ImportCounters(
            rows_total=self.rows_total,
            rows_read=self.rows_read,
            succeeded=self.succeeded,
            failed=self.failed,
            duplicates=self.duplicates,
            not_processed=self.not_processed,
        )

    @property
    def report_ready(self) -> bool:
        return self.report_stored_at is not None and self.results_deleted_at is None

    @property
    def reading_done(self) -> bool:
        return self.rows_total is not None and self.rows_read >= self.rows_total


def event_of(task: ImportTask, *, started: bool = False) -> ImportTaskEvent:
    """The lifecycle event that tells the task's state: `import_started` when `started`,
    else by its status (`import_progressed` while it is not final)."""
    common = {
        "tenant_id": task.tenant_id,
        "principal": Principal.model_validate(task.principal),
        "task_id": task.id,
        "status": task.status.value,
        "counters": task.counters,
        "dry_run": task.dry_run,
    }
    match task.status:
        case Status.COMPLETED:
            return ImportCompleted(**common)
        case Status.CANCELLED:
            return ImportCancelled(**common)
        case Status.FAILED:
            return ImportFailed(
                **common, error_code=task.error_code or "", error_message=task.error_message or ""
            )
        case _:
            return (ImportStarted if started else ImportProgressed)(**common)


def _task(record: asyncpg.Record | None) -> ImportTask | None:
    return None if record is None else ImportTask.of(record)


# ---- the upload ----


async def create_task(
    conn: Connection,
    *,
    task_id: UUID,
    tenant_id: str,
    principal: dict[str, Any],
    file_name: str,
    idempotency_key: str | None,
) -> ImportTask | None:
    """The new task, `pending`; None if the idempotency key was used before."""
    return _task(
        await conn.fetchrow(
            queries.INSERT_IMPORT_TASK, task_id, tenant_id, principal, file_name, idempotency_key
        )
    )


async def task_by_idempotency_key(
    conn: Connection, *, tenant_id: str, sub: str, key: str
) -> ImportTask | None:
    """The task this caller (tenant and token `sub`) created with this Idempotency-Key."""
    return _task(await conn.fetchrow(queries.SELECT_IMPORT_TASK_BY_KEY, tenant_id, sub, key))


async def add_file_chunk(conn: Connection, *, task_id: UUID, seq: int, data: bytes) -> None:
    await conn.execute(queries.INSERT_IMPORT_FILE_CHUNK, task_id, seq, data)


async def finish_upload(
    conn: Connection,
    *,
    task_id: UUID,
    file_name: str,
    org_unit_id: str | None,
    description: str,
    file_size: int,
    upload_sha256: str,
    content_sha256: str | None = None,
    dry_run: bool = False,
) -> ImportTask:
    task = _task(
        await conn.fetchrow(
            queries.FINISH_IMPORT_UPLOAD,
            task_id,
            file_name,
            org_unit_id,
            description,
            file_size,
            upload_sha256,
            content_sha256,
            dry_run,
        )
    )
    assert task is not None
    return task


async def earlier_import_of(
    conn: Connection,
    *,
    tenant_id: str,
    scope: OrgScope,
    content_sha256: str,
    task_id: UUID,
    window_seconds: float,
) -> ImportTask | None:
    """The newest other task within `window_seconds` that imported a file of this content (a
    real import that did not fail) and that the caller may see; None if there is none."""
    return _task(
        await conn.fetchrow(
            queries.SELECT_EARLIER_IMPORT_OF_CONTENT,
            tenant_id,
            *scope_args(scope),
            content_sha256,
            task_id,
            window_seconds,
        )
    )


async def import_preview(
    conn: Connection, *, preview_id: UUID, task_id: UUID, principal: dict[str, Any]
) -> ImportTask | None:
    """ "Import for real": a new pending task, `task_id`, with the completed dry run's settings
    and file; None if the dry run is not completed, was imported already, or its file is gone
    (retention). The caller checks the dry run is visible to it first."""
    if await conn.fetchrow(queries.CLAIM_IMPORT_PREVIEW, preview_id, task_id) is None:
        return None
    task = _task(
        await conn.fetchrow(queries.INSERT_IMPORT_FROM_PREVIEW, task_id, preview_id, principal)
    )
    await conn.execute(queries.MOVE_IMPORT_FILE, preview_id, task_id)
    return task


async def file_chunks(conn: Connection, *, task_id: UUID) -> AsyncIterator[bytes]:
    """The uploaded file, chunk by chunk (call inside a transaction)."""
    async for record in conn.cursor(queries.SELECT_IMPORT_FILE_CHUNKS, task_id, prefetch=4):
        yield record["data"]


# ---- reads ----


async def get_task(conn: Connection, *, task_id: UUID) -> ImportTask | None:
    return _task(await conn.fetchrow(queries.SELECT_IMPORT_TASK, task_id))


async def get_task_in_scope(
    conn: Connection, *, tenant_id: str, scope: OrgScope, task_id: UUID
) -> ImportTask | None:
    return _task(
        await conn.fetchrow(
            queries.SELECT_IMPORT_TASK_IN_SCOPE, tenant_id, *scope_args(scope), task_id
        )
    )


async def list_tasks(
    conn: Connection, *, tenant_id: str, scope: OrgScope, limit: int, offset: int
) -> tuple[list[ImportTask], int]:
    rows = await conn.fetch(queries.LIST_IMPORT_TASKS, tenant_id, *scope_args(scope), limit, offset)
    return [ImportTask.of(row) for row in rows], (rows[0]["total"] if rows else 0)


async def report_rows(
    conn: Connection, *, task_id: UUID, chunk_rows: int, preview_of: UUID | None = None
) -> AsyncIterator[list[asyncpg.Record]]:
    """The per-row results in file order, `chunk_rows` at a time (call inside a transaction);
    with `preview_of`, each with the row's outcome in that dry run too (preview_succeeded,
    preview_reason_code). Fetched in chunks: a cursor iterated row by row costs more than the
    rest of the report."""
    query, args = queries.SELECT_IMPORT_ROW_RESULTS, [task_id]
    if preview_of is not None:
        query, args = queries.SELECT_IMPORT_ROW_RESULTS_WITH_PREVIEW, [task_id, preview_of]
    cursor = await conn.cursor(query, *args)
    while records := await cursor.fetch(chunk_rows):
        yield records


# ---- the reader's lease (not a state: who reads the file now) ----


async def claim(
    conn: Connection, *, task_id: UUID, lease_seconds: float, max_running: int
) -> ImportTask | None:
    """The task with a lease to read it, if reading is not done and nobody holds it; None
    too for a pending task whose tenant already runs `max_running` imports (it stays pending)."""
    await conn.execute(queries.LOCK_TENANT_IMPORTS, task_id)
    row = await conn.fetchrow(queries.CLAIM_IMPORT_TASK, task_id, lease_seconds, max_running)
    return _task(row)


async def tasks_to_take_over(
    conn: Connection, *, pending_grace_seconds: float
) -> list[asyncpg.Record]:
    """(id, tenant_id) of tasks nobody reads: call in shared.db.pool.takeover_transaction."""
    return await conn.fetch(queries.SELECT_IMPORT_TASKS_TO_TAKE_OVER, pending_grace_seconds)


async def release(conn: Connection, *, task_id: UUID) -> None:
    """Hand the lease back on a graceful stop: the claim's read attempt is given back too."""
    await conn.execute(queries.RELEASE_IMPORT_TASK, task_id)


async def checkpoint(
    conn: Connection, *, task_id: UUID, rows_read: int, last_row_sent: int, lease_seconds: float
) -> ImportTask | None:
    """Record how far reading got and renew the lease; the task (None once final).

    Reading moving on resets the read attempts: only crashes at one checkpoint add up."""
    task = _task(
        await conn.fetchrow(
            queries.CHECKPOINT_IMPORT_TASK, task_id, rows_read, last_row_sent, lease_seconds
        )
    )
    return task and (await finish_if_done(conn, task_id=task_id) or task)


# ---- transitions ----


async def start(
    conn: Connection, *, task_id: UUID, rows_total: int, lease_seconds: float
) -> ImportTask | None:
    """pending → running, with the total known; a cancelling task stays cancelling but learns
    its total too (its rows are read to be reported `not_processed`). None once final."""
    return _task(await conn.fetchrow(queries.START_IMPORT_TASK, task_id, rows_total, lease_seconds))


async def cancel(conn: Connection, *, task_id: UUID) -> ImportTask | None:
    """pending | running → cancelling; None from any other state."""
    task = _task(await conn.fetchrow(queries.CANCEL_IMPORT_TASK, task_id))
    return task and (await finish_if_done(conn, task_id=task_id) or task)


async def fail(conn: Connection, *, task_id: UUID, code: str, message: str) -> ImportTask | None:
    """pending | running | cancelling → failed, its file deleted; None from a final state."""
    failed = _task(await conn.fetchrow(queries.FAIL_IMPORT_TASK, task_id, code, message))
    if failed is not None:
        await conn.execute(queries.DELETE_IMPORT_FILE, task_id)
    return failed


async def finish_if_done(conn: Connection, *, task_id: UUID) -> ImportTask | None:
    """running → completed or cancelling → cancelled once reading is done and every data row
    has a result; the file is deleted. None if not done yet (or final already)."""
    finished = _task(await conn.fetchrow(queries.FINISH_IMPORT_TASK_IF_DONE, task_id))
    if finished is not None and finished.dry_run:
        await conn.execute(queries.DELETE_PREVIEW_NUMBERS, task_id)
    # A completed dry run keeps its file until it is imported for real or retention passes.
    if finished is not None and not (finished.dry_run and finished.status is Status.COMPLETED):
        await conn.execute(queries.DELETE_IMPORT_FILE, task_id)
    return finished


class RowResult(NamedTuple):
    """What became of one data row: its line of the report (import_row_result)."""

    row_number: int
    as_written: str
    succeeded: bool
    reason_code: str | None = None
    reason: str = ""
    # What the report shows of the row's OU (its path of names once resolved, else the cell as
    # written; None: Unorganized, or an empty cell of a row failed before it was resolved) and
    # of its description.
    org_unit: str | None = None
    description: str | None = None


async def store_results(
    conn: Connection, *, task_id: UUID, results: Sequence[RowResult]
) -> ImportTask | None:
    """Store and count each row's first result (results given again change nothing), and do
    not finish the task: the registry calls it in the transaction that wrote the rows, so a row
    and its result are committed together, and the worker finishes the task
    (`finish_if_done`). The task as counted; None for a final task or one this tenant does
    not have."""
    rows, written, succeeded, codes, reasons, org_units, descriptions = (
        list(zip(*results, strict=True)) or [()] * 7
    )
    return _task(
        await conn.fetchrow(
            queries.RECORD_IMPORT_ROW_RESULTS,
            task_id,
            rows,
            written,
            succeeded,
            sparse(codes),
            sparse(reasons, empty=""),
            sparse(org_units),
            sparse(descriptions),
            Reason.NOT_PROCESSED.value,
            Reason.DUPLICATE.value,
        )
    )


async def record_results(
    conn: Connection, *, task_id: UUID, results: Sequence[RowResult]
) -> tuple[ImportTask | None, ImportTask | None]:
    """`store_results`, then `finish_if_done`: the task and, if this finished it, the finished
    task. (None, None) for a final task or one this tenant does not have."""
    task = await store_results(conn, task_id=task_id, results=results)
    if task is None:
        return None, None
    finished = await finish_if_done(conn, task_id=task_id)
    return (finished or task), finished


# ---- what the registry asks before it writes a batch ----


class Writing(NamedTuple):
    status: Status
    # Who uploaded the file, as the gateway recorded them from the token it checked: whose
    # rights the rows are written with (the batch on the internal topic names the worker).
    uploader: Principal


async def lock_for_writing(conn: Connection, *, task_id: UUID) -> Writing | None:
    """The task's status and uploader, holding it until the transaction ends: while the caller
    writes a batch, nobody settles the task's lost rows (see `settle`). None if it is gone."""
    await conn.execute(queries.LOCK_IMPORT_TASK_SHARED, str(task_id))
    row = await conn.fetchrow(queries.SELECT_IMPORT_TASK_FOR_WRITING, task_id)
    if row is None:
        return None
    return Writing(Status(row["status"]), Principal.model_validate(row["principal"]))


# ---- tasks that made no progress ----


async def stalled_tasks(conn: Connection, *, stall_seconds: float) -> list[asyncpg.Record]:
    """(id, tenant_id) of unfinished tasks nobody reads and with no progress for
    `stall_seconds`: call in shared.db.pool.takeover_transaction."""
    return await conn.fetch(queries.SELECT_STALLED_IMPORT_TASKS, stall_seconds)


async def lock_to_settle(conn: Connection, *, task_id: UUID) -> ImportTask | None:
    """The task, with no registry writing its rows until the transaction ends."""
    await conn.execute(queries.LOCK_IMPORT_TASK, str(task_id))
    return await get_task(conn, task_id=task_id)


async def rows_without_result(conn: Connection, *, task_id: UUID, rows: list[int]) -> set[int]:
    found = await conn.fetch(queries.SELECT_ROWS_WITHOUT_RESULT, task_id, rows)
    return {row["row_number"] for row in found}


async def rows_written(
    conn: Connection, *, tenant_id: str, task_id: UUID, rows: list[int], dry_run: bool = False
) -> set[int]:
    """Which of `rows` wrote their number (the registry records each number's task and row;
    a dry run, the numbers it has seen)."""
    query = queries.SELECT_PREVIEW_ROWS if dry_run else queries.SELECT_ROWS_WRITTEN_BY_TASK
    found = await conn.fetch(query, tenant_id, task_id, rows)
    return {row["import_row"] for row in found}


# ---- the stored report ----

ReportFormat = Literal["xlsx", "csv"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("xlsx", "csv")


async def lock_for_report(conn: Connection, *, task_id: UUID) -> bool:
    """True if the task is completed or cancelled, its report not stored and nobody writing it;
    the caller then writes it in this transaction (`add_report_chunk`, then `report_stored`)."""
    return await conn.fetchval(queries.LOCK_IMPORT_TASK_FOR_REPORT, task_id) is not None


async def add_report_chunk(
    conn: Connection, *, task_id: UUID, format: ReportFormat, seq: int, data: bytes
) -> None:
    await conn.execute(queries.INSERT_IMPORT_REPORT_CHUNK, task_id, format, seq, data)


async def report_stored(conn: Connection, *, task_id: UUID) -> None:
    """Offer the report: call in the transaction that stored its last chunk."""
    await conn.execute(queries.MARK_IMPORT_REPORT_STORED, task_id)


async def report_size(conn: Connection, *, task_id: UUID, format: ReportFormat) -> int:
    """The stored report's length in bytes."""
    size: int = await conn.fetchval(queries.SELECT_IMPORT_REPORT_SIZE, task_id, format)
    return size


async def report_chunks(
    conn: Connection, *, task_id: UUID, format: ReportFormat
) -> AsyncIterator[bytes]:
    """The stored report, chunk by chunk (call inside a transaction)."""
    async for record in conn.cursor(
        queries.SELECT_IMPORT_REPORT_CHUNKS, task_id, format, prefetch=2
    ):
        yield record["data"]


async def tasks_without_report(conn: Connection) -> list[asyncpg.Record]:
    """(id, tenant_id) of completed or cancelled tasks whose report is not stored: call in
    shared.db.pool.takeover_transaction."""
    return await conn.fetch(queries.SELECT_IMPORT_TASKS_WITHOUT_REPORT)


# ---- retention ----


async def tasks_past_retention(
    conn: Connection, *, retention_seconds: float
) -> list[asyncpg.Record]:
    """(id, tenant_id) of final tasks finished longer ago than that whose results are kept:
    call in shared.db.pool.takeover_transaction."""
    return await conn.fetch(queries.SELECT_IMPORT_TASKS_PAST_RETENTION, retention_seconds)


async def delete_results(conn: Connection, *, task_id: UUID) -> bool:
    """Delete a final task's per-row results, report and file; the task stays listed."""
    deleted = await conn.fetchval(queries.MARK_IMPORT_RESULTS_DELETED, task_id)
    if deleted is None:
        return False
    await conn.execute(queries.DELETE_IMPORT_ROW_RESULTS, task_id)
    await conn.execute(queries.DELETE_IMPORT_REPORT, task_id)
    await conn.execute(queries.DELETE_IMPORT_FILE, task_id)
    return True
