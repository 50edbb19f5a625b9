"""The registry applying import row batches on the real PostgreSQL: rows that cannot be written
fail alone (generated), and a task that is no longer running gets nothing written."""

import asyncio
from unittest import mock
from uuid import UUID, uuid4

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.number_registry import imports as registry_imports
from shared import faults
from shared.contracts import ImportRowRead, ImportRowsRead, Principal, Role
from shared.db import imports
from shared.db.pool import create_pool, tenant_transaction
from shared.rules import Reason
from shared.settings import Settings
from tests.integration.tasks import create_pending

pytestmark = pytest.mark.integration


async def running_task(pool: asyncpg.Pool, tenant: str, rows: int) -> UUID:
    task_id = uuid4()
    async with tenant_transaction(pool, tenant) as conn:
        await create_pending(conn, tenant=tenant, task_id=task_id)
        await imports.start(conn, task_id=task_id, rows_total=rows, lease_seconds=30)
    return task_id


def batch(tenant: str, task_id: UUID, numbers: list[str]) -> ImportRowsRead:
    return ImportRowsRead(
        tenant_id=tenant,
        principal=Principal(sub="admin", role=Role.TENANT_ADMIN),
        task_id=task_id,
        org_unit_id=None,
        description="",
        rows=[
            ImportRowRead(row_number=row, number=number, as_written=number)
            for row, number in enumerate(numbers, start=2)
        ],
    )


@settings(
    # The examples share the session's database and a tenant; each opens its own pool.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_rows_that_cannot_be_written_fail_alone_and_every_other_row_is_applied(
    settings: Settings, pool: asyncpg.Pool, tenant: str, data: st.DataObject
) -> None:
    """`pool` migrates the database; each example opens its own, on its own event loop."""
    size = data.draw(st.integers(min_value=1, max_value=60), label="batch rows")
    numbers = [f"9{uuid4().int % 10**14:014d}" for _ in range(size)]
    poison = data.draw(st.sets(st.sampled_from(numbers), max_size=size), label="poison")

    async def run() -> None:
        own = await create_pool(settings.database_url, max_size=1)
        try:
            task_id = await running_task(own, tenant, size)
            with mock.patch.object(
                faults, "_FAILS", {("registry.import_row", number) for number in poison}
            ):
                async with tenant_transaction(own, tenant) as conn:
                    results = await registry_imports.apply(conn, batch(tenant, task_id, numbers))
            async with tenant_transaction(own, tenant) as conn:
                stored = await conn.fetch(
                    "SELECT number FROM caller_number WHERE import_task_id = $1", task_id
                )
        finally:
            await own.close()
        assert [r.row_number for r in results] == list(range(2, size + 2))
        for number, result in zip(numbers, results, strict=True):
            expected = Reason.NOT_APPLIED if number in poison else None
            assert result.succeeded is (number not in poison) and result.reason_code == expected
        assert {r["number"] for r in stored} == set(numbers) - poison

    asyncio.run(run())


@pytest.mark.parametrize("ended_by", ["cancel", "fail"])
async def test_a_batch_of_a_task_no_longer_running_writes_nothing_and_keeps_earlier_successes(
    pool: asyncpg.Pool, tenant: str, ended_by: str
) -> None:
    numbers = [f"8{uuid4().int % 10**14:014d}" for _ in range(4)]
    task_id = await running_task(pool, tenant, 4)
    async with tenant_transaction(pool, tenant) as conn:
        first = await registry_imports.apply(conn, batch(tenant, task_id, numbers[:2]))
    assert all(r.succeeded for r in first)
    async with tenant_transaction(pool, tenant) as conn:
        if ended_by == "cancel":
            await imports.cancel(conn, task_id=task_id)
        else:
            await imports.fail(conn, task_id=task_id, code="x", message="x")
    # The first batch again (a redelivery) and the rest, after the end.
    async with tenant_transaction(pool, tenant) as conn:
        again = await registry_imports.apply(conn, batch(tenant, task_id, numbers))
        stored = await conn.fetchval(
            "SELECT count(*) FROM caller_number WHERE import_task_id = $1", task_id
        )
    assert [r.succeeded for r in again] == [True, True, False, False]
    assert [r.reason_code for r in again[2:]] == [Reason.NOT_PROCESSED] * 2
    assert stored == 2
