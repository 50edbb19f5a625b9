"""A dry run on the real PostgreSQL, in this process: the registry's batch apply writes no
number yet finds what an import would, the file is kept, moved by "Import for real", and
deleted by retention."""

from uuid import UUID, uuid4

import asyncpg

from shared.contracts import Principal
from shared.db import imports
from shared.db.imports import ImportTask
from shared.db.pool import takeover_transaction, tenant_transaction
from shared.rules import Reason
from tests.integration.test_imports import apply_batch, new_task, read, record, rows_read, start


async def dry_run_task(pool: asyncpg.Pool, tenant: str, principal: Principal) -> ImportTask:
    task = await new_task(pool, tenant, principal)
    async with tenant_transaction(pool, tenant) as conn:
        await conn.execute("UPDATE import_task SET dry_run = true WHERE id = $1", task.id)
    return task


async def count(pool: asyncpg.Pool, tenant: str, query: str, *args: object) -> int:
    async with tenant_transaction(pool, tenant) as conn:
        found: int = await conn.fetchval(query, *args)
        return found


async def file_chunks(pool: asyncpg.Pool, tenant: str, task_id: UUID) -> int:
    return await count(
        pool, tenant, "SELECT count(*) FROM import_file_chunk WHERE task_id = $1", task_id
    )


class TestDryRunBatches:
    async def test_a_dry_run_finds_duplicates_across_batches_and_writes_no_number(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await dry_run_task(pool, tenant, service)
        await start(pool, tenant, task.id, rows_total=4)
        first = rows_read(tenant, service, task.id, "0711", "0712")
        second = rows_read(tenant, service, task.id, "0713", "0714", "0711")
        second = second.model_copy(update={"rows": second.rows[2:], "dry_run": True})
        first = first.model_copy(update={"dry_run": True})
        results = await apply_batch(pool, first) + await apply_batch(pool, second)
        assert [(r.succeeded, r.reason_code) for r in results] == [
            (True, None),
            (True, None),
            (False, Reason.DUPLICATE),
        ]
        assert "row 2 added it" in results[2].reason
        assert await apply_batch(pool, first) == results[:2]  # delivered again: the same
        numbers = "SELECT count(*) FROM caller_number WHERE tenant_id = $1"
        assert await count(pool, tenant, numbers, tenant) == 0

    async def test_a_completed_dry_run_keeps_its_file_until_imported_for_real(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await dry_run_task(pool, tenant, service)
        await start(pool, tenant, task.id, rows_total=1)
        batch = rows_read(tenant, service, task.id, "0721").model_copy(update={"dry_run": True})
        await read(pool, tenant, task.id, 1)
        _, finished = await record(pool, tenant, task.id, await apply_batch(pool, batch))
        assert finished is not None and finished.status == "completed"
        seen = "SELECT count(*) FROM import_preview_number WHERE task_id = $1"
        assert await count(pool, tenant, seen, task.id) == 0  # emptied at the end
        assert await file_chunks(pool, tenant, task.id) == 1
        real_id = uuid4()
        async with tenant_transaction(pool, tenant) as conn:
            principal = service.model_dump(mode="json")
            real = await imports.import_preview(
                conn, preview_id=task.id, task_id=real_id, principal=principal
            )
            again = await imports.import_preview(
                conn, preview_id=task.id, task_id=uuid4(), principal=principal
            )
        assert real is not None and real.preview_of == task.id and not real.dry_run
        assert (real.org_unit_id, real.content_sha256) == ("sales", task.content_sha256)
        assert again is None  # once per dry run
        assert await file_chunks(pool, tenant, task.id) == 0
        assert await file_chunks(pool, tenant, real_id) == 1

    async def test_retention_deletes_a_dry_runs_file_that_was_never_imported(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await dry_run_task(pool, tenant, service)
        await start(pool, tenant, task.id, rows_total=1)
        batch = rows_read(tenant, service, task.id, "0731").model_copy(update={"dry_run": True})
        await read(pool, tenant, task.id, 1)
        await record(pool, tenant, task.id, await apply_batch(pool, batch))
        async with takeover_transaction(pool) as conn:
            due = {r["id"] for r in await imports.tasks_past_retention(conn, retention_seconds=0)}
        assert task.id in due
        async with tenant_transaction(pool, tenant) as conn:
            assert await imports.delete_results(conn, task_id=task.id)
            assert (
                await imports.import_preview(
                    conn, preview_id=task.id, task_id=uuid4(), principal={"sub": "x"}
                )
                is None
            )
        assert await file_chunks(pool, tenant, task.id) == 0
