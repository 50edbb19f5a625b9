"""The import task's state machine on the real PostgreSQL: every transition, from every state,
and transitions that race from two connections."""

import asyncio
from functools import partial
from uuid import UUID, uuid4

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.db import imports
from shared.db.imports import TRANSITIONS, ImportTask, RowResult, Status
from shared.db.pool import create_pool, takeover_transaction, tenant_transaction
from shared.rules import NOT_PROCESSED, Reason
from shared.settings import Settings
from tests.integration.conftest import new_tenant
from tests.integration.tasks import create_pending

pytestmark = pytest.mark.integration
# The worker's claim, with the default running-imports limit of a tenant.
claim = partial(imports.claim, max_running=2)
LEASE = 30.0


async def new_task(pool: asyncpg.Pool, tenant: str) -> UUID:
    """A pending task with a one-chunk file."""
    task_id = uuid4()
    async with tenant_transaction(pool, tenant) as conn:
        await create_pending(conn, tenant=tenant, task_id=task_id)
        await imports.add_file_chunk(conn, task_id=task_id, seq=0, data=b"Caller Number\r\n")
    return task_id


async def running(pool: asyncpg.Pool, tenant: str, *, rows: int = 3) -> UUID:
    task_id = await new_task(pool, tenant)
    async with tenant_transaction(pool, tenant) as conn:
        started = await imports.start(conn, task_id=task_id, rows_total=rows, lease_seconds=LEASE)
    assert started is not None and started.status is Status.RUNNING
    return task_id


def result(row: int, *, succeeded: bool = True, code: str | None = None) -> RowResult:
    return RowResult(row_number=row, as_written=str(row), succeeded=succeeded, reason_code=code)


async def get(pool: asyncpg.Pool, tenant: str, task_id: UUID) -> ImportTask:
    async with tenant_transaction(pool, tenant) as conn:
        task = await imports.get_task(conn, task_id=task_id)
    assert task is not None
    return task


async def read_all(pool: asyncpg.Pool, tenant: str, task_id: UUID, rows: int) -> ImportTask | None:
    async with tenant_transaction(pool, tenant) as conn:
        return await imports.checkpoint(
            conn, task_id=task_id, rows_read=rows, last_row_sent=rows + 1, lease_seconds=LEASE
        )


async def record(
    pool: asyncpg.Pool, tenant: str, task_id: UUID, *results: RowResult
) -> tuple[ImportTask | None, ImportTask | None]:
    async with tenant_transaction(pool, tenant) as conn:
        return await imports.record_results(conn, task_id=task_id, results=list(results))


async def file_chunks(pool: asyncpg.Pool, tenant: str, task_id: UUID) -> int:
    async with tenant_transaction(pool, tenant) as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM import_file_chunk WHERE task_id = $1", task_id
        )
    return count


class TestStart:
    async def test_a_pending_task_starts_running_with_its_total(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task = await get(pool, tenant, await running(pool, tenant, rows=7))
        assert task.status is Status.RUNNING and task.rows_total == 7 and task.started_at

    async def test_a_cancelling_task_learns_its_total_and_stays_cancelling(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await new_task(pool, tenant)
        async with tenant_transaction(pool, tenant) as conn:
            await imports.cancel(conn, task_id=task_id)
            started = await imports.start(conn, task_id=task_id, rows_total=4, lease_seconds=LEASE)
        assert started is not None
        assert started.status is Status.CANCELLING and started.rows_total == 4

    async def test_a_final_task_does_not_start_again(self, pool: asyncpg.Pool, tenant: str) -> None:
        task_id = await new_task(pool, tenant)
        async with tenant_transaction(pool, tenant) as conn:
            await imports.fail(conn, task_id=task_id, code="empty", message="x")
            again = await imports.start(conn, task_id=task_id, rows_total=1, lease_seconds=LEASE)
        assert again is None


class TestComplete:
    async def test_it_completes_when_every_row_is_read_and_has_a_result_and_drops_the_file(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await running(pool, tenant, rows=2)
        await read_all(pool, tenant, task_id, 2)
        _, finished = await record(pool, tenant, task_id, result(2), result(3))
        assert finished is not None and finished.status is Status.COMPLETED
        assert finished.counters.rows_read == 2 and finished.finished_at is not None
        assert await file_chunks(pool, tenant, task_id) == 0

    async def test_results_before_the_last_checkpoint_wait_for_it_and_the_event_has_rows_read(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        # The ops list once showed rows_read 0: the task completed before reading was recorded.
        task_id = await running(pool, tenant, rows=2)
        task, finished = await record(pool, tenant, task_id, result(2), result(3))
        assert finished is None and task is not None and task.status is Status.RUNNING
        checked = await read_all(pool, tenant, task_id, 2)
        assert checked is not None and checked.status is Status.COMPLETED
        assert checked.counters.rows_read == 2 and checked.counters.succeeded == 2

    async def test_a_result_delivered_again_counts_once(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await running(pool, tenant, rows=2)
        await record(pool, tenant, task_id, result(2))
        task, _ = await record(pool, tenant, task_id, result(2, succeeded=False, code="duplicate"))
        assert task is not None and (task.succeeded, task.failed, task.duplicates) == (1, 0, 0)


class TestCancel:
    @pytest.mark.parametrize("started", [False, True])
    async def test_pending_or_running_becomes_cancelling(
        self, pool: asyncpg.Pool, tenant: str, started: bool
    ) -> None:
        task_id = await (running(pool, tenant) if started else new_task(pool, tenant))
        async with tenant_transaction(pool, tenant) as conn:
            cancelling = await imports.cancel(conn, task_id=task_id)
        assert cancelling is not None and cancelling.status is Status.CANCELLING
        assert cancelling.finished_at is None

    async def test_it_is_cancelled_once_every_row_has_a_line_not_processed_counted_apart(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await running(pool, tenant, rows=3)
        await record(pool, tenant, task_id, result(2))
        async with tenant_transaction(pool, tenant) as conn:
            await imports.cancel(conn, task_id=task_id)
        not_processed = [
            RowResult(
                row_number=n,
                as_written=str(n),
                succeeded=False,
                reason_code=NOT_PROCESSED.reason,
                reason=NOT_PROCESSED.message,
            )
            for n in (3, 4)
        ]
        _, finished = await record(pool, tenant, task_id, *not_processed)
        assert finished is None  # reading is not recorded as done yet
        checked = await read_all(pool, tenant, task_id, 3)
        assert checked is not None and checked.status is Status.CANCELLED
        counters = checked.counters
        assert (counters.succeeded, counters.failed, counters.not_processed) == (1, 0, 2)
        assert await file_chunks(pool, tenant, task_id) == 0

    @pytest.mark.parametrize("final", ["failed", "completed", "cancelling"])
    async def test_a_final_or_cancelling_task_cannot_be_cancelled(
        self, pool: asyncpg.Pool, tenant: str, final: str
    ) -> None:
        task_id = await running(pool, tenant, rows=1)
        async with tenant_transaction(pool, tenant) as conn:
            if final == "failed":
                await imports.fail(conn, task_id=task_id, code="x", message="x")
            elif final == "cancelling":
                await imports.cancel(conn, task_id=task_id)
        if final == "completed":
            await read_all(pool, tenant, task_id, 1)
            await record(pool, tenant, task_id, result(2))
        assert (await get(pool, tenant, task_id)).status == final
        async with tenant_transaction(pool, tenant) as conn:
            assert await imports.cancel(conn, task_id=task_id) is None


class TestFail:
    @pytest.mark.parametrize("state", ["pending", "running", "cancelling"])
    async def test_an_unfinished_task_fails_with_its_reason_and_its_file_is_deleted(
        self, pool: asyncpg.Pool, tenant: str, state: str
    ) -> None:
        task_id = await (new_task(pool, tenant) if state == "pending" else running(pool, tenant))
        async with tenant_transaction(pool, tenant) as conn:
            if state == "cancelling":
                await imports.cancel(conn, task_id=task_id)
            failed = await imports.fail(conn, task_id=task_id, code="empty", message="No rows.")
        assert failed is not None and failed.status is Status.FAILED
        assert (failed.error_code, failed.error_message) == ("empty", "No rows.")
        assert await file_chunks(pool, tenant, task_id) == 0

    async def test_a_completed_task_does_not_fail(self, pool: asyncpg.Pool, tenant: str) -> None:
        task_id = await running(pool, tenant, rows=1)
        await read_all(pool, tenant, task_id, 1)
        await record(pool, tenant, task_id, result(2))
        async with tenant_transaction(pool, tenant) as conn:
            assert await imports.fail(conn, task_id=task_id, code="x", message="x") is None
        assert (await get(pool, tenant, task_id)).status is Status.COMPLETED


class TestRaces:
    async def test_cancel_racing_the_last_result_ends_in_exactly_one_consistent_state(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        outcomes = set()
        for _ in range(20):
            task_id = await running(pool, tenant, rows=2)
            await read_all(pool, tenant, task_id, 2)
            await record(pool, tenant, task_id, result(2))

            async def cancel(task_id: UUID = task_id) -> ImportTask | None:
                async with tenant_transaction(pool, tenant) as conn:
                    return await imports.cancel(conn, task_id=task_id)

            cancelled, (_, finished) = await asyncio.gather(
                cancel(), record(pool, tenant, task_id, result(3))
            )
            task = await get(pool, tenant, task_id)
            if cancelled is None:  # the last result came first
                assert task.status is Status.COMPLETED and finished is not None
            else:  # cancel came first; the last result then ends it as cancelled
                assert task.status is Status.CANCELLED
            assert task.succeeded == 2
            outcomes.add(task.status)
        assert outcomes <= {Status.COMPLETED, Status.CANCELLED}

    async def test_two_failures_at_once_fail_the_task_once(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await running(pool, tenant)

        async def fail(code: str) -> ImportTask | None:
            async with tenant_transaction(pool, tenant) as conn:
                return await imports.fail(conn, task_id=task_id, code=code, message=code)

        results = await asyncio.gather(fail("a"), fail("b"))
        assert sum(r is not None for r in results) == 1


class TestReaderLease:
    async def test_a_graceful_release_gives_the_attempt_back_and_progress_resets_them(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await running(pool, tenant, rows=10)
        async with tenant_transaction(pool, tenant) as conn:
            await imports.release(conn, task_id=task_id)
        for _ in range(3):  # three graceful stops
            async with tenant_transaction(pool, tenant) as conn:
                claimed = await claim(conn, task_id=task_id, lease_seconds=LEASE, max_running=2)
                assert claimed is not None
                await imports.release(conn, task_id=task_id)
        assert (await get(pool, tenant, task_id)).read_attempts == 0
        for _ in range(3):  # three crashes: the lease runs out, nobody releases it
            async with tenant_transaction(pool, tenant) as conn:
                assert await claim(conn, task_id=task_id, lease_seconds=0) is not None
        assert (await get(pool, tenant, task_id)).read_attempts == 3
        async with tenant_transaction(pool, tenant) as conn:
            await imports.checkpoint(
                conn, task_id=task_id, rows_read=2, last_row_sent=3, lease_seconds=LEASE
            )
        assert (await get(pool, tenant, task_id)).read_attempts == 1

    async def test_a_read_task_is_not_claimed_again(self, pool: asyncpg.Pool, tenant: str) -> None:
        task_id = await running(pool, tenant, rows=1)
        await read_all(pool, tenant, task_id, 1)
        async with tenant_transaction(pool, tenant) as conn:
            await conn.execute("UPDATE import_task SET lease_until = NULL WHERE id = $1", task_id)
            assert await claim(conn, task_id=task_id, lease_seconds=LEASE) is None


class TestUpkeepQueries:
    async def test_a_task_without_progress_is_listed_as_stalled(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await running(pool, tenant)
        async with tenant_transaction(pool, tenant) as conn:
            await conn.execute(
                "UPDATE import_task SET progress_at = now() - interval '1 hour', "
                "lease_until = NULL WHERE id = $1",
                task_id,
            )
        async with takeover_transaction(pool) as conn:
            stalled = {r["id"] for r in await imports.stalled_tasks(conn, stall_seconds=60)}
            recent = {r["id"] for r in await imports.stalled_tasks(conn, stall_seconds=7200)}
        assert task_id in stalled and task_id not in recent

    async def test_retention_deletes_a_final_tasks_results_and_keeps_the_task(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await running(pool, tenant, rows=1)
        unfinished = await running(pool, tenant, rows=1)
        await read_all(pool, tenant, task_id, 1)
        await record(pool, tenant, task_id, result(2))
        async with takeover_transaction(pool) as conn:
            due = {r["id"] for r in await imports.tasks_past_retention(conn, retention_seconds=0)}
        assert task_id in due and unfinished not in due
        async with tenant_transaction(pool, tenant) as conn:
            assert await imports.delete_results(conn, task_id=task_id)
            assert not await imports.delete_results(conn, task_id=task_id)  # once
            assert not await imports.delete_results(conn, task_id=unfinished)
            left = await conn.fetchval(
                "SELECT count(*) FROM import_row_result WHERE task_id = $1", task_id
            )
        task = await get(pool, tenant, task_id)
        assert left == 0 and task.results_deleted_at is not None and task.succeeded == 1


def test_the_transition_table_names_the_states_each_sql_statement_leaves() -> None:
    from shared.db import queries

    statements = {
        "start": queries.START_IMPORT_TASK,
        "cancel": queries.CANCEL_IMPORT_TASK,
        "fail": queries.FAIL_IMPORT_TASK,
        "complete": queries.FINISH_IMPORT_TASK_IF_DONE,
        "finish_cancel": queries.FINISH_IMPORT_TASK_IF_DONE,
    }
    for name, (leaves, _) in TRANSITIONS.items():
        for status in leaves:
            assert f"'{status}'" in statements[name], (name, status)
    assert {s for s in Status if s.final} == {
        Status.COMPLETED,
        Status.FAILED,
        Status.CANCELLED,
    }
    assert NOT_PROCESSED.reason == Reason.NOT_PROCESSED


# A result's optional texts: absent (most rows), empty, or any text.
_MAYBE = st.sampled_from([None, None, "", "Sales / North", "=cmd", "naïve ☎"])
_RESULTS = st.lists(
    st.builds(
        lambda ok, written, code, reason, org_unit, description: RowResult(
            0, written, ok, code, reason or "", org_unit, description
        ),
        st.booleans(),
        st.text(max_size=12).filter(lambda text: "\x00" not in text),
        st.sampled_from([None, Reason.DUPLICATE, Reason.NOT_DIGITS]),
        _MAYBE,
        _MAYBE,
        _MAYBE,
    ),
    min_size=1,
    max_size=12,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drawn=_RESULTS)
def test_results_are_stored_as_given_whichever_columns_are_empty(
    settings: Settings, pool: asyncpg.Pool, drawn: list[RowResult]
) -> None:
    """The kind: batches whose optional columns are all empty, all set, or mixed (store_results
    sends an all-empty column as a NULL array). Each row reads back as it was given."""
    results = [r._replace(row_number=n) for n, r in enumerate(drawn, start=2)]

    async def run() -> None:
        own = await create_pool(settings.database_url, max_size=1)
        try:
            tenant = await new_tenant(own)
            task_id = await running(own, tenant, rows=len(results))
            async with tenant_transaction(own, tenant) as conn:
                await imports.store_results(conn, task_id=task_id, results=results)
                stored = await conn.fetch(
                    "SELECT row_number, number_as_written, succeeded, reason_code, reason,"
                    " org_unit, description FROM import_row_result WHERE task_id = $1"
                    " ORDER BY row_number",
                    task_id,
                )
        finally:
            await own.close()
        assert [RowResult(*record) for record in stored] == results

    asyncio.run(run())
