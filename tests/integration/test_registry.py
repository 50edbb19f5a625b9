"""number_registry's command apply, in this process on the real PostgreSQL."""

import asyncpg

from services.number_registry import registry
from shared.contracts import (
    CallerNumberCommand,
    CreateCallerNumbers,
    DeleteCallerNumber,
    DeleteCallerNumbers,
    MoveCallerNumbers,
    OutcomeStatus,
    Principal,
    Role,
    UpdateCallerNumber,
)
from shared.db import caller_numbers, tenants
from shared.db.pool import tenant_transaction
from shared.rules import Reason


async def apply(pool: asyncpg.Pool, command: CallerNumberCommand) -> registry.Applied:
    async with tenant_transaction(pool, command.tenant_id) as conn:
        return await registry.apply(conn, command)


class TestCreate:
    async def test_each_number_succeeds_or_fails_on_its_own(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["021"]))
        command = CreateCallerNumbers(
            tenant_id=tenant,
            principal=service,
            numbers=["0215", "021", "12a"],
            org_unit_id="sales",
            description="hotline",
        )
        applied = await apply(pool, command)
        assert [(o.status, o.reason) for o in applied.outcomes] == [
            (OutcomeStatus.CREATED, None),
            (OutcomeStatus.REJECTED, Reason.DUPLICATE),
            (OutcomeStatus.REJECTED, Reason.NOT_DIGITS),
        ]
        created = applied.outcomes[0].caller_number
        assert created is not None
        assert (created.org_unit_id, created.description) == ("sales", "hotline")

    async def test_a_command_delivered_again_answers_the_same_and_writes_nothing(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        command = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0311"])
        first = await apply(pool, command)
        again = await apply(pool, command)
        assert again == first  # same outcomes, same processed_at: not "duplicate"
        assert first.outcomes[0].status is OutcomeStatus.CREATED

    async def test_a_tenant_without_the_prerequisites_gets_feature_disabled_for_each_number(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        async with tenant_transaction(pool, tenant) as conn:
            await tenants.update_tenant(
                conn, tenant_id=tenant, name=None, anonymization=False, isolation=None
            )
        command = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["1", "2"])
        applied = await apply(pool, command)
        assert {o.reason for o in applied.outcomes} == {Reason.FEATURE_DISABLED}
        async with tenant_transaction(pool, tenant) as conn:
            assert await caller_numbers.lock_by_number(conn, tenant_id=tenant, number="1") is None


class TestUpdateAndDelete:
    async def test_under_isolation_an_agent_cannot_touch_a_number_outside_its_org_units(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        async with tenant_transaction(pool, tenant) as conn:
            await tenants.update_tenant(
                conn, tenant_id=tenant, name=None, anonymization=None, isolation=True
            )
        await apply(
            pool,
            CreateCallerNumbers(
                tenant_id=tenant, principal=service, numbers=["0411"], org_unit_id="support"
            ),
        )
        agent = Principal(
            sub="agent",
            role=Role.AGENT,
            org_unit_id="sales",
            accessible_org_unit_ids=("sales",),
            permissions=("caller_number:edit", "caller_number:delete"),
        )
        update = UpdateCallerNumber(
            tenant_id=tenant, principal=agent, number="0411", org_unit_id="sales"
        )
        delete = DeleteCallerNumber(tenant_id=tenant, principal=agent, number="0411")
        for command in (update, delete):
            [outcome] = (await apply(pool, command)).outcomes
            assert outcome.reason == Reason.NOT_FOUND  # out of scope looks absent

    async def test_an_update_then_a_delete_change_the_stored_number(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        await apply(pool, CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["05"]))
        update = UpdateCallerNumber(
            tenant_id=tenant, principal=service, number="05", org_unit_id="support"
        )
        [updated] = (await apply(pool, update)).outcomes
        assert updated.caller_number is not None
        assert updated.caller_number.org_unit_id == "support"
        delete = DeleteCallerNumber(tenant_id=tenant, principal=service, number="05")
        [deleted] = (await apply(pool, delete)).outcomes
        assert deleted.status is OutcomeStatus.DELETED
        async with tenant_transaction(pool, tenant) as conn:
            assert await caller_numbers.lock_by_number(conn, tenant_id=tenant, number="05") is None


class TestBulk:
    async def test_a_delete_many_chunk_redelivered_answers_the_same_and_deletes_once(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        await apply(
            pool, CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["71", "72"])
        )
        command = DeleteCallerNumbers(
            tenant_id=tenant, principal=service, numbers=["71", "79", "7a", "71"]
        )
        first = await apply(pool, command)
        assert [(o.status, o.reason) for o in first.outcomes] == [
            (OutcomeStatus.DELETED, None),
            (OutcomeStatus.REJECTED, Reason.NOT_FOUND),
            (OutcomeStatus.REJECTED, Reason.NOT_DIGITS),
            (OutcomeStatus.REJECTED, Reason.REPEATED_IN_REQUEST),
        ]
        assert await apply(pool, command) == first  # redelivered: the stored outcome
        async with tenant_transaction(pool, tenant) as conn:
            assert await caller_numbers.lock_by_number(conn, tenant_id=tenant, number="71") is None
            assert await caller_numbers.lock_by_number(conn, tenant_id=tenant, number="72")

    async def test_a_move_under_isolation_moves_only_the_agents_numbers_and_keeps_descriptions(
        self, pool: asyncpg.Pool, tenant: str, service: Principal
    ) -> None:
        async with tenant_transaction(pool, tenant) as conn:
            await tenants.update_tenant(
                conn, tenant_id=tenant, name=None, anonymization=None, isolation=True
            )
        for number, org_unit in (("81", "sales"), ("82", "support")):
            await apply(
                pool,
                CreateCallerNumbers(
                    tenant_id=tenant,
                    principal=service,
                    numbers=[number],
                    org_unit_id=org_unit,
                    description="kept",
                ),
            )
        agent = Principal(
            sub="agent",
            role=Role.AGENT,
            org_unit_id="sales",
            permissions=("caller_number:edit",),
        )
        move = MoveCallerNumbers(
            tenant_id=tenant, principal=agent, numbers=["81", "82"], org_unit_id=None
        )
        refused = await apply(pool, move)  # Unorganized is not the agent's to choose
        assert {o.reason for o in refused.outcomes} == {Reason.FORBIDDEN_ORG_UNIT}
        move = MoveCallerNumbers(
            tenant_id=tenant, principal=agent, numbers=["81", "82"], org_unit_id="sales"
        )
        applied = await apply(pool, move)
        assert [(o.number, o.status) for o in applied.outcomes] == [
            ("81", OutcomeStatus.UPDATED),
            ("82", OutcomeStatus.REJECTED),  # support's number: as if absent
        ]
        moved = applied.outcomes[0].caller_number
        assert moved is not None and (moved.org_unit_id, moved.description) == ("sales", "kept")
