"""The per-row report: written once by the worker when its task completes or is cancelled,
stored in PostgreSQL, served as stored, and deleted by retention (real PostgreSQL, the worker's
subscribers on TestKafkaBroker)."""

import asyncio
import csv
import io
from typing import Any
from unittest import mock
from uuid import UUID

import asyncpg
import pytest
from faststream.kafka import KafkaBroker
from openpyxl import load_workbook

from services.api_gateway.routes.imports import stream_report
from services.import_worker import reports
from shared import topics
from shared.contracts import ImportRowsApplied, Principal
from shared.db import imports
from shared.db.imports import ReportFormat, RowResult, Status
from shared.db.pool import takeover_transaction, tenant_transaction
from shared.spreadsheets import csv_report_chunk
from tests.integration.conftest import Seen
from tests.integration.test_imports import new_task, read, start

ROWS = [
    RowResult(row_number=2, as_written="091", succeeded=True),
    RowResult(row_number=3, as_written="=1+2", succeeded=False, reason_code="invalid_format"),
    RowResult(row_number=4, as_written="@SUM(A1)", succeeded=True),
]


async def finished_by_the_worker(
    broker: KafkaBroker, pool: asyncpg.Pool, tenant: str, service: Principal
) -> UUID:
    """A task whose last rows the registry answers (their results stored, as it stores them),
    and the worker, told so, completes it."""
    task = await new_task(pool, tenant, service)
    await start(pool, tenant, task.id, rows_total=len(ROWS))
    await read(pool, tenant, task.id, len(ROWS))
    async with tenant_transaction(pool, tenant) as conn:
        assert await imports.store_results(conn, task_id=task.id, results=ROWS) is not None
    applied = ImportRowsApplied(tenant_id=tenant, principal=service, task_id=task.id)
    await broker.publish(applied.model_dump_json().encode(), topics.IMPORT_ROW_RESULTS)
    return task.id


async def download(pool: asyncpg.Pool, tenant: str, task_id: UUID, format: ReportFormat) -> bytes:
    return b"".join([chunk async for chunk in stream_report(pool, tenant, task_id, format)])


async def stored_chunks(pool: asyncpg.Pool, tenant: str, task_id: UUID) -> int:
    async with tenant_transaction(pool, tenant) as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM import_report_chunk WHERE task_id = $1", task_id
        )
    return count


async def get(pool: asyncpg.Pool, tenant: str, task_id: UUID) -> imports.ImportTask:
    async with tenant_transaction(pool, tenant) as conn:
        task = await imports.get_task(conn, task_id=task_id)
    assert task is not None
    return task


class TestStoredReport:
    async def test_it_is_stored_when_the_task_completes_before_the_completed_event(
        self, worker: tuple[KafkaBroker, Seen], pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        broker, seen = worker
        task_id = await finished_by_the_worker(broker, pool, tenant, service)
        [event] = seen[topics.IMPORT_EVENTS]
        assert event["type"] == "import_completed"
        task = await get(pool, tenant, task_id)
        assert task.status is Status.COMPLETED and task.report_ready
        sheet = load_workbook(io.BytesIO(await download(pool, tenant, task_id, "xlsx"))).active
        assert sheet is not None
        lines: list[tuple[Any, ...]] = [tuple(r) for r in sheet.iter_rows(values_only=True)]
        assert [line[:3] for line in lines[1:]] == [
            (2, "091", "success"),
            (3, "=1+2", "failure"),
            (4, "@SUM(A1)", "success"),
        ]
        formula = sheet["B3"]
        assert (formula.value, formula.data_type, formula.quotePrefix) == ("=1+2", "s", True)
        as_csv = (await download(pool, tenant, task_id, "csv")).decode("utf-8-sig")
        assert [line[1] for line in csv.reader(io.StringIO(as_csv))][1:] == [
            "091",
            "'=1+2",
            "'@SUM(A1)",
        ]

    async def test_it_is_served_byte_identical_every_time_and_written_only_once(
        self, worker: tuple[KafkaBroker, Seen], pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        broker, _ = worker
        task_id = await finished_by_the_worker(broker, pool, tenant, service)
        chunks = await stored_chunks(pool, tenant, task_id)
        for format in imports.REPORT_FORMATS:
            first = await download(pool, tenant, task_id, format)
            assert first and first == await download(pool, tenant, task_id, format)
            async with tenant_transaction(pool, tenant) as conn:
                assert await imports.report_size(conn, task_id=task_id, format=format) == len(first)
        assert not await reports.store(pool, tenant_id=tenant, task_id=task_id)  # once
        assert await stored_chunks(pool, tenant, task_id) == chunks == 2

    async def test_a_task_being_finished_is_not_offered_until_its_report_is_stored(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await new_task(pool, tenant, service)
        await start(pool, tenant, task.id, rows_total=1)
        await read(pool, tenant, task.id, 1)
        async with tenant_transaction(pool, tenant) as conn:  # finished, e.g. by a worker that dies
            _, finished = await imports.record_results(conn, task_id=task.id, results=ROWS[:1])
        assert finished is not None and not finished.report_ready
        async with takeover_transaction(pool) as conn:
            missing = {r["id"] for r in await imports.tasks_without_report(conn)}
        assert task.id in missing
        assert await reports.store(pool, tenant_id=tenant, task_id=task.id)  # upkeep's step
        assert (await get(pool, tenant, task.id)).report_ready

    async def test_a_report_whose_writing_fails_is_not_stored_and_is_written_again_later(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        """Either writer failing (a full disk, say) stops the other, raises, stores nothing."""
        results = [
            RowResult(row_number=n, as_written=f"0{n}", succeeded=True) for n in range(2, 14)
        ]
        task = await new_task(pool, tenant, service)
        await start(pool, tenant, task.id, rows_total=len(results))
        await read(pool, tenant, task.id, len(results))
        async with tenant_transaction(pool, tenant) as conn:
            _, finished = await imports.record_results(conn, task_id=task.id, results=results)
        assert finished is not None

        def xlsx_fails(path: Any, rows: Any, **_: Any) -> None:
            next(rows)
            raise OSError("No space left on device")

        csv_calls = 0

        def csv_fails(*args: Any, **kwargs: Any) -> bytes:
            nonlocal csv_calls
            csv_calls += 1
            if csv_calls == 3:
                raise OSError("No space left on device")
            return csv_report_chunk(*args, **kwargs)

        # A row per chunk: more chunks than the xlsx writer's queue holds, so that a writer
        # that ended early would leave the other waiting for ever.
        with mock.patch.object(reports, "_ROWS_PER_CHUNK", 1):
            for failing in (
                mock.patch.object(reports, "write_xlsx_report", xlsx_fails),
                mock.patch.object(reports, "csv_report_chunk", csv_fails),
            ):
                with failing, pytest.raises(OSError, match="No space left"):
                    await asyncio.wait_for(
                        reports.store(pool, tenant_id=tenant, task_id=task.id), timeout=30
                    )
                assert await stored_chunks(pool, tenant, task.id) == 0
                assert not (await get(pool, tenant, task.id)).report_ready
            assert await reports.store(pool, tenant_id=tenant, task_id=task.id)
        report = await download(pool, tenant, task.id, "csv")
        lines = report.decode("utf-8-sig").splitlines()[1:]
        assert [line.split(",")[1] for line in lines] == [r.as_written for r in results]
        sheet = load_workbook(io.BytesIO(await download(pool, tenant, task.id, "xlsx"))).active
        assert sheet is not None and sheet.max_row == len(results) + 1

    async def test_a_failed_task_gets_no_report(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        task = await new_task(pool, tenant, service)
        async with tenant_transaction(pool, tenant) as conn:
            assert await imports.fail(conn, task_id=task.id, code="bad_file", message="bad")
        assert not await reports.store(pool, tenant_id=tenant, task_id=task.id)
        assert await stored_chunks(pool, tenant, task.id) == 0

    async def test_retention_deletes_the_report_with_the_row_results(
        self, worker: tuple[KafkaBroker, Seen], pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        broker, _ = worker
        task_id = await finished_by_the_worker(broker, pool, tenant, service)
        assert await stored_chunks(pool, tenant, task_id) == 2
        async with tenant_transaction(pool, tenant) as conn:
            assert await imports.delete_results(conn, task_id=task_id)
        task = await get(pool, tenant, task_id)
        assert await stored_chunks(pool, tenant, task_id) == 0
        assert task.results_deleted_at is not None and not task.report_ready
        assert not await reports.store(pool, tenant_id=tenant, task_id=task_id)  # not rewritten
