"""Every import task ends by itself and tells the truth: poison rows, lost results, cancel while
the worker is dead, graceful restarts, retention. Each prints what the user sees and its times."""

import signal
from typing import Any

import asyncpg
import httpx
import pytest

from shared import topics
from shared.kafka import partition_count
from tests import factories as f
from tests.faults.cluster import Cluster
from tests.faults.imports import (
    IMPORTS,
    Clock,
    assert_every_row_told,
    file_chunks,
    numbers_csv,
    numbers_stored,
    report,
    until_final,
    upload,
)
from tests.infra import Backing
from tests.waiting import deadline

pytestmark = pytest.mark.faults


async def new_admin(gateway: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    tenant = await f.create_tenant(gateway)
    return tenant, f.tenant_admin(tenant)


class TestEveryTaskEnds:
    async def test_a_batch_that_cannot_be_applied_fails_only_its_bad_rows_and_completes(
        self, cluster: Cluster, gateway: httpx.AsyncClient
    ) -> None:
        rows, poison = 1000, ["500000000123", "500000000777"]  # rows 125 and 779
        points = ",".join(f"registry.import_row:{number}" for number in poison)
        cluster.start("number_registry", FAIL_POINTS=points)
        cluster.start("import_worker", IMPORT_BATCH_ROWS="100")
        _, admin = await new_admin(gateway)
        clock = Clock()
        task_id = await upload(gateway, admin, numbers_csv(rows))
        task = await until_final(gateway, admin, task_id)
        seconds = clock.seconds()

        assert task["status"] == "completed", task
        lines = await report(gateway, admin, task_id)
        assert_every_row_told(task, lines, rows)
        failed = [line for line in lines.lines if line[2] != "success"]
        assert [(line[0], line[1]) for line in failed] == [("125", poison[0]), ("779", poison[1])]
        assert all(line[3].startswith("Not applied") for line in failed)
        assert (task["counters"]["succeeded"], task["counters"]["failed"]) == (rows - 2, 2)
        log = cluster.processes["number_registry"].log_dir / "number_registry.log"
        logged = [line for line in log.read_text().splitlines() if task_id in line]
        assert sum("InjectedFault" in line for line in logged) == 2  # the error class, per row
        print(f"poison: {len(lines.lines)}/{rows} report lines, 2 not_applied, {seconds} s")

    async def test_row_results_that_are_lost_are_settled_and_the_task_completes(
        self, cluster: Cluster, gateway: httpx.AsyncClient
    ) -> None:
        tenant, admin = await new_admin(gateway)
        cluster.start("number_registry")
        # Every result message of this tenant fails in the worker and is dead-lettered.
        cluster.start(
            "import_worker",
            IMPORT_BATCH_ROWS="100",
            IMPORT_STALL_SECONDS="3",
            MAX_DELIVERY_ATTEMPTS="2",
            FAIL_POINTS=f"worker.results:{tenant}",
        )
        rows = 300
        content = numbers_csv(rows).replace(b"500000000150", b"12ab")  # row 152: not digits
        clock = Clock()
        task_id = await upload(gateway, admin, content)
        task = await until_final(gateway, admin, task_id)
        seconds = clock.seconds()

        assert task["status"] == "completed", task
        lines = await report(gateway, admin, task_id)
        assert_every_row_told(task, lines, rows)
        # The registry wrote them all: settling finds that and says so.
        assert (task["counters"]["succeeded"], task["counters"]["failed"]) == (rows - 1, 1)
        print(f"lost results: {len(lines.lines)}/{rows} report lines, settled in {seconds} s")


async def wait_rows_read(
    gateway: httpx.AsyncClient, admin: dict[str, str], task_id: str, rows: int
) -> dict[str, Any]:
    async for _ in deadline(30, every=0.02):
        task: dict[str, Any] = (await gateway.get(f"{IMPORTS}/{task_id}", headers=admin)).json()
        if task["counters"]["rows_read"] >= rows:
            return task
    raise AssertionError(f"import {task_id} never read {rows} rows")


async def cancel(gateway: httpx.AsyncClient, admin: dict[str, str], task_id: str) -> None:
    response = await gateway.post(f"{IMPORTS}/{task_id}/cancel", headers=admin)
    assert response.status_code == 200 and response.json()["status"] == "cancelling", response.text
    early = await gateway.get(f"{IMPORTS}/{task_id}/result", headers=admin)
    assert early.status_code == 409  # no report before every row has its line


class TestCancel:
    async def test_cancel_while_the_worker_is_dead_ends_cancelled_with_every_row_reported(
        self, cluster: Cluster, gateway: httpx.AsyncClient, db: asyncpg.Pool, backing: Backing
    ) -> None:
        batch, rows = 200, 20_000
        cluster.start("number_registry")
        cluster.start("import_worker", IMPORT_BATCH_ROWS=str(batch))
        tenant, admin = await new_admin(gateway)
        task_id = await upload(gateway, admin, numbers_csv(rows))
        await wait_rows_read(gateway, admin, task_id, 2000)
        cluster.kill("import_worker", signal.SIGKILL)
        clock = Clock()
        await cancel(gateway, admin, task_id)
        stored_at_cancel = await numbers_stored(db, tenant)
        cluster.revive("import_worker")  # its dead predecessor's lease still runs 3 s
        task = await until_final(gateway, admin, task_id)
        seconds = clock.seconds()

        assert task["status"] == "cancelled", task
        lines = await report(gateway, admin, task_id)
        assert_every_row_told(task, lines, rows)
        counters = task["counters"]
        assert counters["failed"] == 0 and counters["not_processed"] > 0
        assert (
            lines.reasons.count("Not processed: the import was cancelled.")
            == (counters["not_processed"])
        )
        # At most the batch in flight on each partition of the rows topic (a row consumer each)
        # was applied after the ack.
        partitions = await partition_count(backing.settings(), topics.IMPORT_ROWS)
        after_cancel = await numbers_stored(db, tenant) - stored_at_cancel
        assert after_cancel <= batch * partitions
        assert await numbers_stored(db, tenant) == counters["succeeded"]
        assert await file_chunks(db, tenant, task_id) == 0
        print(
            f"cancel, worker dead: {len(lines.lines)}/{rows} report lines, "
            f"{counters['not_processed']} not_processed, {after_cancel} numbers written after "
            f"the ack, cancelled {seconds} s after Cancel"
        )

    async def test_cancel_of_a_pending_task_reports_each_row_or_fails_an_unreadable_file(
        self, cluster: Cluster, gateway: httpx.AsyncClient, db: asyncpg.Pool
    ) -> None:
        cluster.start("number_registry")  # no worker yet: the tasks stay pending
        tenant, admin = await new_admin(gateway)
        rows = 5000
        readable = await upload(gateway, admin, numbers_csv(rows))
        unreadable = await upload(gateway, admin, b"PK\x03\x04 not really a workbook")
        for task_id in (readable, unreadable):
            await cancel(gateway, admin, task_id)
        clock = Clock()
        cluster.start("import_worker")
        task = await until_final(gateway, admin, readable)
        seconds = clock.seconds()
        bad = await until_final(gateway, admin, unreadable)

        assert task["status"] == "cancelled", task
        lines = await report(gateway, admin, readable)
        assert_every_row_told(task, lines, rows)
        assert task["counters"]["not_processed"] == rows and await numbers_stored(db, tenant) == 0
        assert bad["status"] == "failed" and bad["error_code"] == "not_a_spreadsheet", bad
        for task_id in (readable, unreadable):
            assert await file_chunks(db, tenant, task_id) == 0
        print(f"cancel pending: {len(lines.lines)}/{rows} lines not_processed in {seconds} s")


class TestRestarts:
    async def test_five_graceful_restarts_while_reading_do_not_fail_the_import(
        self, cluster: Cluster, gateway: httpx.AsyncClient, db: asyncpg.Pool
    ) -> None:
        rows, restarts = 30_000, 5
        cluster.start("number_registry")
        cluster.start("import_worker", IMPORT_BATCH_ROWS="100", IMPORT_MAX_READ_ATTEMPTS="2")
        tenant, admin = await new_admin(gateway)
        clock = Clock()
        task_id = await upload(gateway, admin, numbers_csv(rows))
        stopped_at: list[int] = []

        async def stop_while_reading(task: dict[str, Any]) -> None:
            read, total = task["counters"]["rows_read"], task["counters"]["rows_total"]
            step = rows // (restarts + 2)
            if len(stopped_at) < restarts and read >= step * (len(stopped_at) + 1):
                assert total is None or read < total, "reading ended before the restarts"
                cluster.kill("import_worker", signal.SIGTERM)
                cluster.revive("import_worker")
                stopped_at.append(read)

        task = await until_final(gateway, admin, task_id, on_progress=stop_while_reading)
        seconds = clock.seconds()

        assert len(stopped_at) == restarts, stopped_at
        assert task["status"] == "completed", task
        lines = await report(gateway, admin, task_id)
        assert_every_row_told(task, lines, rows)
        assert task["counters"]["succeeded"] == rows == await numbers_stored(db, tenant)
        told = f"{len(lines.lines)}/{rows} lines"
        print(f"{restarts} SIGTERMs at rows {stopped_at}: {told}, completed in {seconds} s")


class TestRetention:
    async def test_a_finished_tasks_report_and_results_are_deleted_and_the_task_stays_listed(
        self, cluster: Cluster, gateway: httpx.AsyncClient, db: asyncpg.Pool
    ) -> None:
        cluster.start("number_registry")
        cluster.start("import_worker", IMPORT_RETENTION_DAYS=str(2 / 86400))  # two seconds
        tenant, admin = await new_admin(gateway)
        task_id = await upload(gateway, admin, numbers_csv(50))
        done = await until_final(gateway, admin, task_id)
        assert done["status"] == "completed"
        clock = Clock()
        async for _ in deadline(30, every=0.1):
            task = (await gateway.get(f"{IMPORTS}/{task_id}", headers=admin)).json()
            if task["results_deleted_at"] is not None:
                break
        seconds = clock.seconds()

        assert task["counters"] == done["counters"] and task["status"] == "completed"
        listed = (await gateway.get(IMPORTS, headers=admin)).json()["items"]
        assert [t["id"] for t in listed] == [task_id]
        gone = await gateway.get(f"{IMPORTS}/{task_id}/result", headers=admin)
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "report_deleted"
        async with db.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            kept = await conn.fetchval(
                "SELECT count(*) FROM import_row_result WHERE task_id = $1::uuid", task_id
            )
        assert kept == 0 and await file_chunks(db, tenant, task_id) == 0
        print(f"retention: results deleted {seconds} s after the end (retention 2 s)")
