"""The audit history on the real PostgreSQL: every change of a number is recorded in the
transaction of the change, once, with who and by what; nothing else is."""

from datetime import UTC, datetime, timedelta
from unittest import mock
from uuid import uuid4

import asyncpg
import pytest

from services.import_worker.upkeep import Upkeep
from services.number_registry import imports as registry_imports
from services.number_registry import registry
from shared import faults
from shared.access import org_scope
from shared.contracts import (
    CallerNumberCommand,
    CreateCallerNumbers,
    DeleteCallerNumber,
    DeleteCallerNumbers,
    MoveCallerNumbers,
    Principal,
    Role,
    UpdateCallerNumber,
)
from shared.db import audit
from shared.db.pool import audit_retention_transaction, tenant_transaction
from shared.settings import Settings
from tests.integration.test_import_rows import batch, running_task

pytestmark = pytest.mark.integration

ADMIN = Principal(sub="alice", role=Role.TENANT_ADMIN)


async def apply(pool: asyncpg.Pool, command: CallerNumberCommand) -> registry.Applied:
    async with tenant_transaction(pool, command.tenant_id) as conn:
        return await registry.apply(conn, command)


async def records(pool: asyncpg.Pool, tenant: str) -> list[asyncpg.Record]:
    async with tenant_transaction(pool, tenant) as conn:
        return await conn.fetch("SELECT * FROM caller_number_audit ORDER BY id")


class TestCommands:
    async def test_created_updated_and_deleted_are_recorded_with_who_when_and_which_command(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        create = CreateCallerNumbers(
            tenant_id=tenant, principal=ADMIN, numbers=["0211"], description="hotline"
        )
        created = await apply(pool, create)
        update = UpdateCallerNumber(
            tenant_id=tenant, principal=ADMIN, number="0211", org_unit_id="sales", description="x"
        )
        await apply(pool, update)
        delete = DeleteCallerNumber(tenant_id=tenant, principal=ADMIN, number="0211")
        await apply(pool, delete)
        found = await records(pool, tenant)
        assert [r["action"] for r in found] == ["created", "updated", "deleted"]
        assert [r["command_id"] for r in found] == [
            create.message_id,
            update.message_id,
            delete.message_id,
        ]
        assert {(r["principal_sub"], r["principal_role"]) for r in found} == {
            ("alice", "tenant_admin")
        }
        caller_number = created.outcomes[0].caller_number
        assert caller_number is not None
        assert {r["caller_number_id"] for r in found} == {caller_number.id}
        created_r, updated_r, deleted_r = found
        assert (created_r["org_unit_id_after"], created_r["description_after"]) == (None, "hotline")
        assert (updated_r["org_unit_id_before"], updated_r["description_before"]) == (
            None,
            "hotline",
        )
        assert (updated_r["org_unit_id_after"], updated_r["description_after"]) == ("sales", "x")
        assert (deleted_r["org_unit_id_before"], deleted_r["description_before"]) == ("sales", "x")
        assert all(r["changed_at"] <= datetime.now(UTC) for r in found)

    async def test_a_command_delivered_again_records_nothing_more(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        command = CreateCallerNumbers(tenant_id=tenant, principal=ADMIN, numbers=["1", "2"])
        await apply(pool, command)
        await apply(pool, command)
        assert len(await records(pool, tenant)) == 2

    async def test_refused_duplicate_and_unchanged_numbers_record_nothing(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=ADMIN, numbers=["5"]))
        agent = Principal(sub="bob", role=Role.AGENT)  # no permission at all
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=agent, numbers=["6"]))
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=ADMIN, numbers=["5"]))
        same = UpdateCallerNumber(tenant_id=tenant, principal=ADMIN, number="5", description="")
        await apply(pool, same)
        await apply(pool, DeleteCallerNumber(tenant_id=tenant, principal=agent, number="5"))
        assert [r["action"] for r in await records(pool, tenant)] == ["created"]

    async def test_a_bulk_chunk_records_each_number_with_its_operation(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        numbers = ["71", "72", "73"]
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=ADMIN, numbers=numbers))
        operation = uuid4()
        move = MoveCallerNumbers(
            tenant_id=tenant,
            principal=ADMIN,
            numbers=[*numbers, "74"],
            org_unit_id="support",
            bulk_operation_id=operation,
        )
        await apply(pool, move)
        delete = DeleteCallerNumbers(
            tenant_id=tenant, principal=ADMIN, numbers=numbers[:2], bulk_operation_id=operation
        )
        await apply(pool, delete)
        found = [r for r in await records(pool, tenant) if r["action"] != "created"]
        assert [(r["number"], r["action"]) for r in found] == [
            *((n, "updated") for n in numbers),
            *((n, "deleted") for n in numbers[:2]),
        ]
        assert {r["bulk_operation_id"] for r in found} == {operation}
        assert {r["command_id"] for r in found[:3]} == {move.message_id}
        assert {r["org_unit_id_after"] for r in found[:3]} == {"support"}

    async def test_a_write_in_sql_by_hand_is_recorded_as_the_database_role(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        async with tenant_transaction(pool, tenant) as conn:
            await conn.execute(
                "INSERT INTO caller_number (tenant_id, number) VALUES ($1, '42')", tenant
            )
        (found,) = await records(pool, tenant)
        assert (found["principal_sub"], found["principal_role"]) == ("registry_app", "database")
        assert found["command_id"] is None


class TestImports:
    async def test_each_row_written_is_recorded_with_its_task_and_row_once(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await running_task(pool, tenant, 3)
        rows = batch(tenant, task_id, ["801", "802", "801"])
        for _ in range(2):  # delivered twice
            async with tenant_transaction(pool, tenant) as conn:
                await registry_imports.apply(conn, rows)
        found = await records(pool, tenant)
        assert sorted((r["number"], r["import_task_id"], r["import_row"]) for r in found) == [
            ("801", task_id, 2),
            ("802", task_id, 3),
        ]
        assert {(r["principal_sub"], r["action"]) for r in found} == {
            ("t", "created")
        }  # the uploader


class TestReads:
    async def test_an_agent_sees_the_changes_that_touched_its_org_units_only(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        await apply(
            pool,
            CreateCallerNumbers(tenant_id=tenant, principal=ADMIN, numbers=["91", "92"]),
        )
        move = UpdateCallerNumber(
            tenant_id=tenant, principal=ADMIN, number="91", org_unit_id="sales"
        )
        await apply(pool, move)
        agent = Principal(sub="a", role=Role.AGENT, org_unit_id="sales")
        scope = org_scope(agent, isolation_enforced=True, parents={"sales": None, "support": None})
        async with tenant_transaction(pool, tenant) as conn:
            seen = await audit.page(
                conn, tenant_id=tenant, where=audit.AuditFilter(scope=scope), limit=50
            )
        assert [(r["number"], r["action"]) for r in seen] == [("91", "updated")]


class TestRetention:
    async def test_records_older_than_the_cutoff_go_in_every_tenant_and_newer_ones_stay(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=ADMIN, numbers=["31"]))
        async with audit_retention_transaction(pool) as conn:
            assert (
                await audit.delete_before(
                    conn, cutoff=datetime.now(UTC) - timedelta(days=1), batch=1000
                )
                >= 0
            )
        assert len(await records(pool, tenant)) == 1
        async with audit_retention_transaction(pool) as conn:
            deleted = await audit.delete_before(
                conn, cutoff=datetime.now(UTC) + timedelta(seconds=1), batch=100_000
            )
        assert deleted >= 1
        assert await records(pool, tenant) == []


class TestRetentionUpkeep:
    async def test_the_workers_upkeep_looks_once_per_interval(
        self, pool: asyncpg.Pool, settings: Settings
    ) -> None:
        """Each look reads the audit pages not yet summarised by VACUUM: once per interval.
        The looks go to PostgreSQL (audit.delete_before, counted); nothing is two years old."""
        looks = mock.AsyncMock(wraps=audit.delete_before)

        def upkeep(interval: float) -> Upkeep:
            return Upkeep(
                pool=pool,
                runner=mock.Mock(),  # neither is used by this step
                progress=mock.Mock(),
                settings=settings.model_copy(update={"audit_retention_interval_seconds": interval}),
                services_answer=mock.AsyncMock(return_value=True),
            )

        with mock.patch.object(audit, "delete_before", looks):
            hourly = upkeep(3600)
            await hourly.apply_audit_retention()
            await hourly.apply_audit_retention()
            assert looks.await_count == 1
            every_time = upkeep(0)
            await every_time.apply_audit_retention()
            await every_time.apply_audit_retention()
        assert looks.await_count == 3


class TestRowsThatFail:
    async def test_a_row_that_cannot_be_written_is_not_recorded_and_the_others_are(
        self, pool: asyncpg.Pool, tenant: str
    ) -> None:
        task_id = await running_task(pool, tenant, 3)
        with mock.patch.object(faults, "_FAILS", {("registry.import_row", "902")}):
            async with tenant_transaction(pool, tenant) as conn:
                await registry_imports.apply(conn, batch(tenant, task_id, ["901", "902", "903"]))
        found = await records(pool, tenant)
        assert sorted(r["number"] for r in found) == ["901", "903"]
