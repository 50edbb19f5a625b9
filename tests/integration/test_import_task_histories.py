"""Generated histories of one import task on the real PostgreSQL: whatever the order of reads,
results, cancels and failures, the task moves only along its transitions, a final state never
changes, and a task whose every row is read and told is never left unfinished."""

import asyncio
from uuid import uuid4

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.db import imports
from shared.db.imports import TRANSITIONS, ImportTask, RowResult, Status
from shared.db.pool import create_pool, tenant_transaction
from shared.rules import NOT_PROCESSED
from shared.settings import Settings
from tests.integration.tasks import create_pending

pytestmark = pytest.mark.integration
ROWS = 6  # data rows 2..7
ALLOWED = {(old, new) for leaves, new in TRANSITIONS.values() for old in leaves}

reads = st.tuples(st.just("read"), st.integers(min_value=1, max_value=ROWS))
results = st.tuples(
    st.just("results"),
    st.lists(
        st.tuples(st.integers(2, ROWS + 1), st.sampled_from(["success", "duplicate", "np"])),
        min_size=1,
        max_size=ROWS,
    ),
)
steps = st.lists(
    st.one_of(reads, results, st.just(("cancel",)), st.just(("fail",))), min_size=1, max_size=14
)


def result(row: int, kind: str) -> RowResult:
    if kind == "success":
        return RowResult(row_number=row, as_written=str(row), succeeded=True)
    code = NOT_PROCESSED.reason if kind == "np" else kind
    return RowResult(row_number=row, as_written=str(row), succeeded=False, reason_code=code)


@settings(
    # The examples share the session's database and a tenant; each opens its own pool.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps)
def test_any_history_keeps_to_the_transitions_and_ends_a_task_that_is_done(
    settings: Settings, pool: asyncpg.Pool, tenant: str, history: list[tuple[object, ...]]
) -> None:
    """`pool` migrates the database; each example opens its own, on its own event loop."""

    async def run() -> None:
        pool = await create_pool(settings.database_url, max_size=1)
        task_id, read = uuid4(), 0
        try:
            async with tenant_transaction(pool, tenant) as conn:
                await create_pending(conn, tenant=tenant, task_id=task_id)
                await imports.start(conn, task_id=task_id, rows_total=ROWS, lease_seconds=30)
                before = await imports.get_task(conn, task_id=task_id)
            for step in history:
                async with tenant_transaction(pool, tenant) as conn:
                    match step:
                        case ("read", int(more)):
                            read = min(ROWS, read + more)
                            await imports.checkpoint(
                                conn,
                                task_id=task_id,
                                rows_read=read,
                                last_row_sent=read + 1,
                                lease_seconds=30,
                            )
                        case ("results", list(rows)):
                            told = [result(row, kind) for row, kind in rows]
                            await imports.record_results(conn, task_id=task_id, results=told)
                        case ("cancel",):
                            await imports.cancel(conn, task_id=task_id)
                        case ("fail",):
                            await imports.fail(conn, task_id=task_id, code="x", message="x")
                    after = await imports.get_task(conn, task_id=task_id)
                assert before is not None and after is not None
                check(before, after, step)
                before = after
        finally:
            await pool.close()

    asyncio.run(run())


def check(before: ImportTask, after: ImportTask, step: tuple[object, ...]) -> None:
    moved = (before.status, after.status)
    assert before.status == after.status or moved in ALLOWED, (step, moved)
    if before.status.final:
        assert after.counters == before.counters and after.status == before.status, step
    told = after.succeeded + after.failed + after.not_processed
    assert told <= ROWS and after.duplicates <= after.failed
    done = after.reading_done and told == ROWS
    if after.status in (Status.COMPLETED, Status.CANCELLED):
        assert done and after.finished_at is not None
    elif after.status is not Status.FAILED:
        assert not done, f"every row read and told, yet {after.status} after {step}"
