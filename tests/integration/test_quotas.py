"""The tenant's quota of caller numbers on the real PostgreSQL: adds, imports and upstream
commands stop at it, also when they race; the count follows every insert and delete."""

import asyncio
from uuid import UUID

import asyncpg
import pytest

from services.number_registry import imports as registry_imports
from services.number_registry import registry
from shared.contracts import (
    CallerNumberCommand,
    CreateCallerNumbers,
    DeleteCallerNumbers,
    ImportRowsRead,
    OutcomeStatus,
    Principal,
    Role,
)
from shared.db import quotas, tenants
from shared.db.imports import RowResult
from shared.db.pool import tenant_transaction
from shared.rules import Reason
from tests.integration.conftest import new_tenant
from tests.integration.test_import_rows import batch, running_task

pytestmark = pytest.mark.integration

SERVICE = Principal(sub="crm", role=Role.SERVICE)


async def set_quota(pool: asyncpg.Pool, tenant: str, quota: int | None) -> None:
    async with tenant_transaction(pool, tenant) as conn:
        await tenants.update_tenant(
            conn,
            tenant_id=tenant,
            name=None,
            anonymization=None,
            isolation=None,
            max_caller_numbers=quota,
        )


async def apply(pool: asyncpg.Pool, command: CallerNumberCommand) -> registry.Applied:
    async with tenant_transaction(pool, command.tenant_id) as conn:
        return await registry.apply(conn, command)


async def apply_rows(pool: asyncpg.Pool, rows: ImportRowsRead) -> list[RowResult]:
    async with tenant_transaction(pool, rows.tenant_id) as conn:
        return await registry_imports.apply(conn, rows)


async def usage(pool: asyncpg.Pool, tenant: str) -> tuple[quotas.Usage, int]:
    """The kept count and quota, and the numbers really there."""
    async with tenant_transaction(pool, tenant) as conn:
        kept = await quotas.usage(conn, tenant_id=tenant)
        there = await conn.fetchval("SELECT count(*) FROM caller_number")
    assert kept is not None
    return kept, there


class TestAdds:
    async def test_the_first_new_numbers_take_the_places_left_and_the_rest_fail_naming_the_quota(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=["1"]))
        await set_quota(pool, tenant, 3)
        command = CreateCallerNumbers(
            tenant_id=tenant, principal=SERVICE, numbers=["1", "2", "x", "3", "4", "5"]
        )
        outcomes = (await apply(pool, command)).outcomes
        assert [(o.status, o.reason) for o in outcomes] == [
            (OutcomeStatus.REJECTED, Reason.DUPLICATE),
            (OutcomeStatus.CREATED, None),
            (OutcomeStatus.REJECTED, Reason.NOT_DIGITS),
            (OutcomeStatus.CREATED, None),
            (OutcomeStatus.REJECTED, Reason.QUOTA_EXCEEDED),
            (OutcomeStatus.REJECTED, Reason.QUOTA_EXCEEDED),
        ]
        assert outcomes[4].message is not None and "3 of 3" in outcomes[4].message
        assert await usage(pool, tenant) == (quotas.Usage(3, 3), 3)

    async def test_deleting_frees_places_and_a_quota_under_the_count_keeps_the_numbers(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        numbers = ["11", "12", "13"]
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=numbers))
        await set_quota(pool, tenant, 1)
        add = CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=["14"])
        assert (await apply(pool, add)).outcomes[0].reason == Reason.QUOTA_EXCEEDED
        delete = DeleteCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=numbers)
        await apply(pool, delete)
        again = CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=["14", "15"])
        outcomes = (await apply(pool, again)).outcomes
        assert [o.status for o in outcomes] == [OutcomeStatus.CREATED, OutcomeStatus.REJECTED]
        await set_quota(pool, tenant, None)
        last = CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=["15"])
        assert (await apply(pool, last)).outcomes[0].status is OutcomeStatus.CREATED
        assert await usage(pool, tenant) == (quotas.Usage(2, None), 2)


class TestImports:
    async def test_rows_past_the_quota_fail_in_row_order_and_a_batch_again_gets_the_same(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=["3"]))
        await set_quota(pool, tenant, 3)
        task_id = await running_task(pool, tenant, 6)
        rows = batch(tenant, task_id, ["1", "2", "3", "1", "4", "5"])
        first = await apply_rows(pool, rows)
        assert [(r.succeeded, r.reason_code) for r in first] == [
            (True, None),
            (True, None),
            (False, Reason.DUPLICATE),
            (False, Reason.DUPLICATE),  # row 2 added it
            (False, Reason.QUOTA_EXCEEDED),
            (False, Reason.QUOTA_EXCEEDED),
        ]
        assert await apply_rows(pool, rows) == first
        assert await usage(pool, tenant) == (quotas.Usage(3, 3), 3)


class TestRaces:
    """Two imports, and an import with adds, at once: never over the quota, each place taken
    once, and within each import the rows that succeed are the first ones of its rows."""

    async def test_two_imports_racing_take_exactly_the_places_left(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        await set_quota(pool, tenant, 55)
        tasks = [await running_task(pool, tenant, 100) for _ in range(2)]
        results = await asyncio.gather(
            *(
                self._import(pool, tenant, task, prefix)
                for task, prefix in zip(tasks, "78", strict=True)
            )
        )
        succeeded = [sum(r.succeeded for r in task) for task in results]
        assert sum(succeeded) == 55
        for task in results:
            assert {r.reason_code for r in task if not r.succeeded} <= {Reason.QUOTA_EXCEEDED}
            flags = [r.succeeded for r in sorted(task, key=lambda r: r.row_number)]
            assert flags == sorted(flags, reverse=True)  # a prefix of the rows succeeded
        assert await usage(pool, tenant) == (quotas.Usage(55, 55), 55)

    async def test_an_import_and_adds_racing_never_go_over(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        await set_quota(pool, tenant, 40)
        task = await running_task(pool, tenant, 100)
        adds = [
            CreateCallerNumbers(
                tenant_id=tenant, principal=SERVICE, numbers=[f"5{i:02d}{j}" for j in range(5)]
            )
            for i in range(10)
        ]
        imported, *added = await asyncio.gather(
            self._import(pool, tenant, task, "6"), *(apply(pool, add) for add in adds)
        )
        created = sum(o.status is OutcomeStatus.CREATED for a in added for o in a.outcomes)
        assert created + sum(r.succeeded for r in imported) == 40
        assert await usage(pool, tenant) == (quotas.Usage(40, 40), 40)

    @staticmethod
    async def _import(
        pool: asyncpg.Pool, tenant: str, task_id: UUID, prefix: str
    ) -> list[RowResult]:
        numbers = [f"{prefix}{i:04d}" for i in range(100)]
        rows = batch(tenant, task_id, numbers).rows
        results: list[RowResult] = []
        for start in range(0, len(rows), 10):  # batches of 10, each its own transaction
            chunk = batch(tenant, task_id, []).model_copy(update={"rows": rows[start : start + 10]})
            results += await apply_rows(pool, chunk)
        return results


class TestCounting:
    async def test_a_quota_set_later_counts_the_numbers_the_tenant_has(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        numbers = ["21", "22", "23"]
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=numbers))
        await set_quota(pool, tenant, 4)
        assert await usage(pool, tenant) == (quotas.Usage(3, 4), 3)
        add = CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=["24", "25"])
        assert [o.status for o in (await apply(pool, add)).outcomes] == [
            OutcomeStatus.CREATED,
            OutcomeStatus.REJECTED,
        ]

    async def test_without_a_quota_a_writer_left_open_holds_up_no_other_writer(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        async with tenant_transaction(pool, tenant) as blocker:
            await blocker.execute(
                "INSERT INTO caller_number (tenant_id, number) VALUES ($1, '1')", tenant
            )
            add = CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=["2"])
            applied = await asyncio.wait_for(apply(pool, add), timeout=10)
        assert applied.outcomes[0].status is OutcomeStatus.CREATED


class TestDryRun:
    @pytest.mark.parametrize("split", [1, 3, 5])
    async def test_a_dry_run_fails_the_rows_the_import_fails_and_writes_nothing(
        self, pool: asyncpg.Pool, split: int
    ) -> None:
        """The same file's batches, checked then imported, on two tenants alike: the same
        outcome for every row, wherever the file is cut into batches."""
        numbers = ["1", "2", "3", "1", "4", "5", "4"]
        outcomes = []
        for dry_run in (True, False):
            tenant = await new_tenant(pool)
            await apply(
                pool, CreateCallerNumbers(tenant_id=tenant, principal=SERVICE, numbers=["3"])
            )
            await set_quota(pool, tenant, 4)
            task_id = await running_task(pool, tenant, len(numbers))
            whole = batch(tenant, task_id, numbers).model_copy(update={"dry_run": dry_run})
            parts = [whole.rows[:split], whole.rows[split:]]
            results = []
            for part in parts:
                results += await apply_rows(pool, whole.model_copy(update={"rows": part}))
            again = await apply_rows(pool, whole.model_copy(update={"rows": parts[1]}))
            assert again == results[split:]  # delivered again: the same
            outcomes.append([(r.row_number, r.succeeded, r.reason_code) for r in results])
            stored = (await usage(pool, tenant))[1]
            assert stored == (1 if dry_run else 4)
        assert outcomes[0] == outcomes[1]
        # "3" is there (1 of 4 used): 1, 2 and 4 take the places left, 5 is past the quota.
        assert [reason for _, _, reason in outcomes[1]] == [
            None,
            None,
            Reason.DUPLICATE,
            Reason.DUPLICATE,
            None,
            Reason.QUOTA_EXCEEDED,
            Reason.DUPLICATE,
        ]
