"""Import tasks, their files and their per-row results."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg

from shared.access import OrgScope
from shared.contracts import ImportCounters, ImportRowResult
from shared.db import Connection, queries
from shared.db.caller_numbers import scope_args
from shared.rules import Reason

TaskRow = asyncpg.Record


def counters(task: TaskRow) -> ImportCounters:
    return ImportCounters(
        rows_total=task["rows_total"],
        rows_read=task["rows_read"],
        succeeded=task["succeeded"],
        failed=task["failed"],
        duplicates=task["duplicates"],
        not_processed=task["not_processed"],
    )


async def create_task(
    conn: Connection,
    *,
    task_id: UUID,
    tenant_id: str,
    principal: dict[str, Any],
    file_name: str,
    idempotency_key: str | None,
) -> TaskRow | None:
    """The new task; None if the idempotency key was used before."""
    return await conn.fetchrow(
        queries.INSERT_IMPORT_TASK, task_id, tenant_id, principal, file_name, idempotency_key
    )


async def task_by_idempotency_key(conn: Connection, *, tenant_id: str, key: str) -> TaskRow | None:
    return await conn.fetchrow(queries.SELECT_IMPORT_TASK_BY_KEY, tenant_id, key)


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
) -> TaskRow:
    row = await conn.fetchrow(
        queries.FINISH_IMPORT_UPLOAD, task_id, file_name, org_unit_id, description, file_size
    )
    assert row is not None
    return row


async def file_chunks(conn: Connection, *, task_id: UUID) -> AsyncIterator[bytes]:
    """The uploaded file, chunk by chunk (call inside a transaction)."""
    async for record in conn.cursor(queries.SELECT_IMPORT_FILE_CHUNKS, task_id, prefetch=4):
        yield record["data"]


async def get_task(conn: Connection, *, task_id: UUID) -> TaskRow | None:
    return await conn.fetchrow(queries.SELECT_IMPORT_TASK, task_id)


async def get_task_in_scope(
    conn: Connection, *, tenant_id: str, scope: OrgScope, task_id: UUID
) -> TaskRow | None:
    return await conn.fetchrow(
        queries.SELECT_IMPORT_TASK_IN_SCOPE, tenant_id, *scope_args(scope), task_id
    )


async def list_tasks(
    conn: Connection, *, tenant_id: str, scope: OrgScope, limit: int, offset: int
) -> tuple[list[TaskRow], int]:
    rows = await conn.fetch(queries.LIST_IMPORT_TASKS, tenant_id, *scope_args(scope), limit, offset)
    return rows, (rows[0]["total"] if rows else 0)


async def claim(conn: Connection, *, task_id: UUID, lease_seconds: float) -> TaskRow | None:
    return await conn.fetchrow(queries.CLAIM_IMPORT_TASK, task_id, lease_seconds)


async def tasks_to_take_over(
    conn: Connection, *, pending_grace_seconds: float
) -> list[asyncpg.Record]:
    """(id, tenant_id) of tasks nobody reads: call in shared.db.pool.takeover_transaction."""
    return await conn.fetch(queries.SELECT_IMPORT_TASKS_TO_TAKE_OVER, pending_grace_seconds)


async def start(
    conn: Connection, *, task_id: UUID, rows_total: int, lease_seconds: float
) -> TaskRow | None:
    """Running, with the total known; renews the lease the file checks have used up."""
    return await conn.fetchrow(queries.START_IMPORT_TASK, task_id, rows_total, lease_seconds)


async def checkpoint(
    conn: Connection, *, task_id: UUID, rows_read: int, last_row_sent: int, lease_seconds: float
) -> str:
    """Record how far reading got and renew the lease; returns the task's status."""
    status: str = await conn.fetchval(
        queries.CHECKPOINT_IMPORT_TASK, task_id, rows_read, last_row_sent, lease_seconds
    )
    return status


async def release(conn: Connection, *, task_id: UUID) -> None:
    await conn.execute(queries.RELEASE_IMPORT_TASK, task_id)


async def fail(conn: Connection, *, task_id: UUID, code: str, message: str) -> TaskRow | None:
    failed = await conn.fetchrow(queries.FAIL_IMPORT_TASK, task_id, code, message)
    if failed is not None:
        await conn.execute(queries.DELETE_IMPORT_FILE, task_id)
    return failed


async def cancel(conn: Connection, *, task_id: UUID) -> TaskRow | None:
    return await conn.fetchrow(queries.CANCEL_IMPORT_TASK, task_id)


async def record_results(
    conn: Connection, *, task_id: UUID, results: list[ImportRowResult]
) -> tuple[TaskRow, TaskRow | None]:
    """Count each row's first result only; returns the task and, if this made it, its completion."""
    recorded = await conn.fetch(
        queries.INSERT_IMPORT_ROW_RESULTS,
        task_id,
        [r.row_number for r in results],
        [r.as_written for r in results],
        [r.succeeded for r in results],
        [r.reason_code for r in results],
        [r.reason for r in results],
    )
    codes = [row["reason_code"] for row in recorded]
    succeeded = sum(row["succeeded"] for row in recorded)
    task = await conn.fetchrow(
        queries.ADD_IMPORT_COUNTERS,
        task_id,
        succeeded,
        len(recorded) - succeeded,
        codes.count(Reason.DUPLICATE),
        codes.count(Reason.NOT_PROCESSED),
    )
    assert task is not None
    completed = await conn.fetchrow(queries.COMPLETE_IMPORT_TASK_IF_DONE, task_id)
    if completed is not None:
        await conn.execute(queries.DELETE_IMPORT_FILE, task_id)
    return (completed or task), completed


async def report_rows(conn: Connection, *, task_id: UUID) -> AsyncIterator[asyncpg.Record]:
    """The per-row results in file order (call inside a transaction)."""
    async for record in conn.cursor(queries.SELECT_IMPORT_ROW_RESULTS, task_id, prefetch=5000):
        yield record
