"""An import on the real PostgreSQL, in this process: the registry's batch apply, the worker's
result recording and counters, and the task's state changes (shared/db/imports.py)."""

import hashlib
from functools import partial
from uuid import UUID, uuid4

import asyncpg

from services.number_registry import imports as batch_apply
from shared.contracts import ImportRowRead, ImportRowsRead, Principal, Role
from shared.db import imports
from shared.db.imports import ImportTask, RowResult, Status
from shared.db.pool import tenant_transaction
from shared.rules import Reason

# The worker's claim, with the default running-imports limit of a tenant.
claim = partial(imports.claim, max_running=2)
LEASE = 30.0


async def new_task(pool: asyncpg.Pool, tenant: str, principal: Principal) -> ImportTask:
    """A pending task with its uploaded file, as the gateway stores it."""
    task_id = uuid4()
    async with tenant_transaction(pool, tenant) as conn:
        await imports.create_task(
            conn,
            task_id=task_id,
            tenant_id=tenant,
            principal=principal.model_dump(mode="json"),
            file_name="upload",
            idempotency_key=None,
        )
        await imports.add_file_chunk(conn, task_id=task_id, seq=0, data=b"Caller Number\n")
        return await imports.finish_upload(
            conn,
            task_id=task_id,
            file_name="numbers.csv",
            org_unit_id="sales",
            description="",
            file_size=14,
            upload_sha256=hashlib.sha256(b"Caller Number\n").hexdigest(),
        )


def rows_read(tenant: str, principal: Principal, task_id: UUID, *numbers: str) -> ImportRowsRead:
    """One batch: data rows 2, 3, ... holding `numbers`."""
    rows = [
        ImportRowRead(row_number=row, number=number, as_written=number)
        for row, number in enumerate(numbers, start=2)
    ]
    return ImportRowsRead(
        tenant_id=tenant,
        principal=principal,
        task_id=task_id,
        org_unit_id="sales",
        description="",
        rows=rows,
    )


async def apply_batch(pool: asyncpg.Pool, batch: ImportRowsRead) -> list[RowResult]:
    async with tenant_transaction(pool, batch.tenant_id) as conn:
        return await batch_apply.apply(conn, batch)


async def record(
    pool: asyncpg.Pool, tenant: str, task_id: UUID, results: list[RowResult]
) -> tuple[ImportTask | None, ImportTask | None]:
    async with tenant_transaction(pool, tenant) as conn:
        return await imports.record_results(conn, task_id=task_id, results=results)


async def start(pool: asyncpg.Pool, tenant: str, task_id: UUID, rows_total: int) -> ImportTask:
    async with tenant_transaction(pool, tenant) as conn:
        claimed = await claim(conn, task_id=task_id, lease_seconds=LEASE)
        assert claimed is not None
        started = await imports.start(
            conn, task_id=task_id, rows_total=rows_total, lease_seconds=LEASE
        )
        assert started is not None
        return started


async def read(pool: asyncpg.Pool, tenant: str, task_id: UUID, rows: int) -> ImportTask | None:
    """The reader's checkpoint: `rows` data rows read and sent."""
    async with tenant_transaction(pool, tenant) as conn:
        return await imports.checkpoint(
            conn, task_id=task_id, rows_read=rows, last_row_sent=rows + 1, lease_seconds=LEASE
        )


class TestBatchApply:
    async def test_rows_are_written_with_the_recorded_uploaders_rights_not_the_batchs_principal(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        # The batch says `service` (it could say anything on an internal topic); the task says
        # who uploaded it: an agent without the import permission.
        agent = Principal(sub="agent-without-import", role=Role.AGENT, org_unit_id="sales")
        task = await new_task(pool, tenant, agent)
        await start(pool, tenant, task.id, rows_total=1)
        results = await apply_batch(pool, rows_read(tenant, service, task.id, "0641"))
        assert [result.reason_code for result in results] == [Reason.PERMISSION_DENIED]

    async def test_a_number_repeated_in_the_file_fails_naming_the_row_that_added_it(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await new_task(pool, tenant, service)
        await start(pool, tenant, task.id, rows_total=3)
        batch = rows_read(tenant, service, task.id, "0611", "0612", "0611")
        results = await apply_batch(pool, batch)
        assert [r.succeeded for r in results] == [True, True, False]
        assert results[2].reason_code == Reason.DUPLICATE
        assert "row 2" in results[2].reason

    async def test_a_batch_delivered_again_gets_the_same_results_not_duplicates(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await new_task(pool, tenant, service)
        await start(pool, tenant, task.id, rows_total=3)
        batch = rows_read(tenant, service, task.id, "0621", "0622", "0621")
        assert await apply_batch(pool, batch) == await apply_batch(pool, batch)

    async def test_rows_of_a_cancelling_task_are_not_processed(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await new_task(pool, tenant, service)
        async with tenant_transaction(pool, tenant) as conn:
            assert await imports.cancel(conn, task_id=task.id) is not None
        results = await apply_batch(pool, rows_read(tenant, service, task.id, "0631"))
        assert [r.reason_code for r in results] == [Reason.NOT_PROCESSED]


class TestResultsAndCounters:
    async def test_the_last_result_completes_the_task_once_and_deletes_its_file(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await new_task(pool, tenant, service)
        await start(pool, tenant, task.id, rows_total=3)
        results = await apply_batch(pool, rows_read(tenant, service, task.id, "071", "072"))
        counted, completed = await record(pool, tenant, task.id, results)
        assert completed is None and counted is not None and counted.succeeded == 2
        checked = await read(pool, tenant, task.id, 3)  # the reader: all 3 rows read
        assert checked is not None and checked.status is Status.RUNNING  # a row has no result
        repeat = RowResult(
            row_number=4, as_written="071", succeeded=False, reason_code=Reason.DUPLICATE
        )
        _, completed = await record(pool, tenant, task.id, [repeat])
        assert completed is not None and completed.status is Status.COMPLETED
        assert completed.counters.model_dump() == {
            "rows_total": 3,
            "rows_read": 3,
            "succeeded": 2,
            "failed": 1,
            "duplicates": 1,
            "not_processed": 0,
        }
        async with tenant_transaction(pool, tenant) as conn:
            assert [chunk async for chunk in imports.file_chunks(conn, task_id=task.id)] == []

    async def test_results_delivered_again_change_no_counter(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await new_task(pool, tenant, service)
        await start(pool, tenant, task.id, rows_total=10)
        results = await apply_batch(pool, rows_read(tenant, service, task.id, "081", "082"))
        first, _ = await record(pool, tenant, task.id, results)
        again, completed = await record(pool, tenant, task.id, results)
        assert again is not None and first is not None and completed is None
        assert again.counters == first.counters and (again.succeeded, again.failed) == (2, 0)


class TestTaskStates:
    async def test_a_pending_task_waits_while_its_tenant_runs_the_most_imports_it_may(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        first, second, waiting = [await new_task(pool, tenant, service) for _ in range(3)]
        await start(pool, tenant, first.id, rows_total=5)
        await start(pool, tenant, second.id, rows_total=5)
        async with tenant_transaction(pool, tenant) as conn:
            assert await claim(conn, task_id=waiting.id, lease_seconds=LEASE) is None
            await imports.release(conn, task_id=first.id)  # a reader died: still running
            assert await claim(conn, task_id=waiting.id, lease_seconds=LEASE) is None
            assert await claim(conn, task_id=first.id, lease_seconds=LEASE) is not None
            await imports.fail(conn, task_id=second.id, code="empty", message="Empty.")
            assert await claim(conn, task_id=waiting.id, lease_seconds=LEASE) is not None

    async def test_a_claimed_task_is_not_claimed_again_while_its_lease_runs(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await new_task(pool, tenant, service)
        assert task.status is Status.PENDING
        started = await start(pool, tenant, task.id, rows_total=5)
        assert started.status is Status.RUNNING
        async with tenant_transaction(pool, tenant) as conn:
            assert await claim(conn, task_id=task.id, lease_seconds=LEASE) is None
            await imports.release(conn, task_id=task.id)
            assert await claim(conn, task_id=task.id, lease_seconds=LEASE) is not None

    async def test_a_failed_task_keeps_its_reason_drops_its_file_and_stays_failed(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await new_task(pool, tenant, service)
        async with tenant_transaction(pool, tenant) as conn:
            failed = await imports.fail(
                conn, task_id=task.id, code="missing_header", message="No header."
            )
            assert failed is not None and failed.status is Status.FAILED
            assert [chunk async for chunk in imports.file_chunks(conn, task_id=task.id)] == []
            assert await imports.cancel(conn, task_id=task.id) is None
            assert await claim(conn, task_id=task.id, lease_seconds=LEASE) is None
