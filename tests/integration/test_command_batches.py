"""The registry applying a fetch of commands together, on the real PostgreSQL: the same outcomes
as one command at a time (generated), in order, each once; a failing command alone is
dead-lettered, the others applied."""

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any
from unittest import mock

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.number_registry import command_batches, registry
from shared import faults
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
from shared.db import caller_numbers
from shared.db.pool import create_pool, tenant_transaction
from shared.rules import Reason
from shared.settings import Settings
from shared.signing import LOG_APPEND_TIME
from shared.signing.keyfiles import DEV_UPSTREAM_SYSTEM
from tests.integration.conftest import new_tenant
from tests.integration.test_quotas import set_quota
from tests.signing import gateway, signed, verifier

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Record:
    """The fields of aiokafka's ConsumerRecord that the registry reads."""

    value: bytes
    key: bytes | None
    offset: int
    headers: list[tuple[str, bytes]]
    timestamp: int  # when the broker appended it, in ms
    timestamp_type: int = LOG_APPEND_TIME
    topic: str = "caller-numbers.commands.v1"
    partition: int = 0


def records(*commands: CallerNumberCommand) -> list[Record]:
    """The commands as the registry fetches them: signed by the upstream system `crm`, or by
    the gateway for a user's command (whose principal the command carries)."""
    now = time.time_ns() // 1_000_000
    return [
        Record(value, c.tenant_id.encode(), offset, signed(value, signer), now)
        for offset, c in enumerate(commands)
        for value in [c.model_dump_json().encode()]
        for signer in [None if c.principal.role == Role.SERVICE else gateway()]
    ]


async def numbers_of(pool: asyncpg.Pool, tenant: str) -> dict[str, str | None]:
    async with tenant_transaction(pool, tenant) as conn:
        rows = await conn.fetch("SELECT number, org_unit_id FROM caller_number")
    return {row["number"]: row["org_unit_id"] for row in rows}


def statuses(batch: command_batches.BatchOutcome) -> list[list[tuple[str, str | None]]]:
    return [[(o.status, o.reason) for o in a.applied.outcomes] for a in batch.answered]


async def test_commands_on_one_number_apply_in_the_order_sent(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    batch = await command_batches.apply_batch(
        pool,
        records(
            CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0401"]),
            DeleteCallerNumber(tenant_id=tenant, principal=service, number="0401"),
            CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0401"]),
            MoveCallerNumbers(
                tenant_id=tenant, principal=service, numbers=["0401"], org_unit_id="sales"
            ),
            CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0401"]),
        ),
        verifier(),
        max_attempts=1,
    )
    assert statuses(batch) == [
        [(OutcomeStatus.CREATED, None)],
        [(OutcomeStatus.DELETED, None)],
        [(OutcomeStatus.CREATED, None)],
        [(OutcomeStatus.UPDATED, None)],
        [(OutcomeStatus.REJECTED, Reason.DUPLICATE)],
    ]
    assert await numbers_of(pool, tenant) == {"0401": "sales"}


async def test_a_batch_delivered_again_answers_each_command_as_before_and_writes_nothing(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    commands: list[CallerNumberCommand] = [
        CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0411", "0412"]),
        DeleteCallerNumber(tenant_id=tenant, principal=service, number="0411"),
    ]
    first = await command_batches.apply_batch(pool, records(*commands), verifier(), max_attempts=1)
    # Again, with a new command behind: the redelivered ones answer from their stored outcome.
    late = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0411"])
    again = await command_batches.apply_batch(
        pool, records(*commands, late), verifier(), max_attempts=1
    )
    assert [a.applied for a in again.answered[:2]] == [a.applied for a in first.answered]
    assert statuses(again)[2] == [(OutcomeStatus.CREATED, None)]
    assert set(await numbers_of(pool, tenant)) == {"0411", "0412"}


async def test_a_command_twice_in_one_batch_has_one_effect_and_the_same_answer(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    create = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0421"])
    delete = DeleteCallerNumber(tenant_id=tenant, principal=service, number="0421")
    batch = await command_batches.apply_batch(
        pool, records(create, delete, create), verifier(), max_attempts=1
    )
    assert [a.applied for a in batch.answered][2] == batch.answered[0].applied
    assert await numbers_of(pool, tenant) == {}  # created once, deleted once


async def test_creates_written_together_are_each_audited_with_their_own_command_and_principal(
    pool: asyncpg.Pool, tenant: str
) -> None:
    by_crm = CreateCallerNumbers(tenant_id=tenant, principal=UPSTREAM, numbers=["0431", "0432"])
    by_admin = CreateCallerNumbers(tenant_id=tenant, principal=ADMIN, numbers=["0432", "0433"])
    batch = await command_batches.apply_batch(
        pool, records(by_crm, by_admin), verifier(), max_attempts=1
    )
    assert statuses(batch)[1] == [
        (OutcomeStatus.REJECTED, Reason.DUPLICATE),
        (OutcomeStatus.CREATED, None),
    ]
    assert await audit_of(pool, tenant) == [
        ("0431", "created", None, "crm", "service", by_crm.message_id),
        ("0432", "created", None, "crm", "service", by_crm.message_id),
        ("0433", "created", None, "admin-a", "tenant_admin", by_admin.message_id),
    ]


async def test_a_failing_command_is_retried_alone_then_dead_lettered_and_the_others_apply(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    commands = [
        CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=[f"043{n}"])
        for n in range(5)
    ]
    poison = commands[2]
    with mock.patch.object(faults, "_FAILS", {("registry.command", str(poison.message_id))}):
        batch = await command_batches.apply_batch(
            pool, records(*commands), verifier(), max_attempts=2
        )
    [letter] = batch.letters
    assert (letter.record.offset, letter.attempts) == (2, 2)
    assert isinstance(letter.error, faults.InjectedFault)
    sent = [c.message_id for c in commands[:2] + commands[3:]]
    assert [a.command.message_id for a in batch.answered] == sent
    assert set(await numbers_of(pool, tenant)) == {"0430", "0431", "0433", "0434"}
    async with tenant_transaction(pool, tenant) as conn:
        stored = await conn.fetchval("SELECT count(*) FROM processed_command")
    assert stored == 4  # none for the dead letter: a fixed registry may apply it from there


async def test_a_statement_that_fails_is_split_and_its_command_passing_later_answered_in_place(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    commands = [
        CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=[f"044{n}"])
        for n in range(3)
    ]
    # The three creates are one INSERT: it fails, then [0441, 0442], then 0441 alone, once.
    fails = iter([RuntimeError("bug")] * 3)
    insert = caller_numbers.insert_numbers

    async def flaky(conn: Any, **kwargs: Any) -> Any:
        if any(n.number == "0441" for n in kwargs["numbers"]) and (error := next(fails, None)):
            raise error
        return await insert(conn, **kwargs)

    with mock.patch.object(caller_numbers, "insert_numbers", flaky):
        batch = await command_batches.apply_batch(
            pool, records(*commands), verifier(), max_attempts=2
        )
    assert next(fails, None) is None
    assert not batch.letters
    assert [a.command.message_id for a in batch.answered] == [c.message_id for c in commands]
    assert statuses(batch) == [[(OutcomeStatus.CREATED, None)]] * 3


async def test_an_outage_mid_batch_leaves_nothing_of_that_transaction(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    commands: list[CallerNumberCommand] = [
        CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0451"]),
        MoveCallerNumbers(
            tenant_id=tenant, principal=service, numbers=["0451"], org_unit_id="sales"
        ),
        CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0452"]),
    ]
    insert = caller_numbers.insert_numbers

    async def cut_off(conn: Any, **kwargs: Any) -> Any:
        if kwargs["numbers"][0].number == "0452":
            raise ConnectionResetError("PostgreSQL went away")
        return await insert(conn, **kwargs)

    with (
        mock.patch.object(caller_numbers, "insert_numbers", cut_off),
        pytest.raises(ConnectionResetError),
    ):
        await command_batches.apply_batch(pool, records(*commands), verifier(), max_attempts=3)
    assert await numbers_of(pool, tenant) == {}  # the batch comes again, whole


async def test_unreadable_and_unappliable_records_are_dead_lettered_and_the_rest_applied(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    good = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0461"])
    wrong_key = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0462"])
    batch = await command_batches.apply_batch(
        pool,
        [
            replace(records(good)[0], value=b"not json", offset=0),
            replace(records(wrong_key)[0], key=b"someone-else", offset=1),
            replace(records(good)[0], offset=2),
        ],
        verifier(),
        max_attempts=1,
    )
    assert [(letter.record.offset, letter.attempts) for letter in batch.letters] == [(0, 1), (1, 1)]
    assert statuses(batch) == [
        [(OutcomeStatus.REJECTED, Reason.KEY_MISMATCH)],  # answered, and dead-lettered
        [(OutcomeStatus.CREATED, None)],
    ]
    assert set(await numbers_of(pool, tenant)) == {"0461"}


async def test_each_tenant_of_a_batch_is_applied_in_its_own_tenant(
    pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    other = await new_tenant(pool)
    batch = await command_batches.apply_batch(
        pool,
        records(
            CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0471"]),
            CreateCallerNumbers(tenant_id=other, principal=service, numbers=["0471"]),
            CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0472"]),
        ),
        verifier(),
        max_attempts=1,
    )
    assert statuses(batch) == [[(OutcomeStatus.CREATED, None)]] * 3
    assert set(await numbers_of(pool, tenant)) == {"0471", "0472"}
    assert set(await numbers_of(pool, other)) == {"0471"}


# ---- generated: a batch decides exactly as the same commands one at a time ----

NUMBERS = ["0481", "0482", "0483", "12ab"]
ADMIN = Principal(sub="admin-a", role=Role.TENANT_ADMIN)
# The principal the registry takes from the upstream key: what applying alone must be given.
UPSTREAM = Principal(sub=DEV_UPSTREAM_SYSTEM, role=Role.SERVICE)


def commands_for(tenant: str) -> st.SearchStrategy[list[CallerNumberCommand]]:
    numbers = st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3)
    org_unit = st.sampled_from([None, "sales", "support", "nowhere"])
    one = st.sampled_from(NUMBERS)
    p = UPSTREAM
    create = st.builds(
        CreateCallerNumbers,
        tenant_id=st.just(tenant),
        principal=st.sampled_from([p, ADMIN]),
        numbers=numbers,
        org_unit_id=org_unit,
    )
    command: st.SearchStrategy[CallerNumberCommand] = st.one_of(
        create,
        create,  # twice as likely: runs of creates are written together (one INSERT)
        st.builds(DeleteCallerNumber, tenant_id=st.just(tenant), principal=st.just(p), number=one),
        st.builds(
            UpdateCallerNumber,
            tenant_id=st.just(tenant),
            principal=st.just(p),
            number=one,
            org_unit_id=org_unit,
            description=st.sampled_from(["", "hotline"]),
        ),
        st.builds(
            DeleteCallerNumbers, tenant_id=st.just(tenant), principal=st.just(p), numbers=numbers
        ),
        st.builds(
            MoveCallerNumbers,
            tenant_id=st.just(tenant),
            principal=st.just(p),
            numbers=numbers,
            org_unit_id=org_unit,
        ),
    )
    return st.lists(command, min_size=1, max_size=12)


async def audit_of(pool: asyncpg.Pool, tenant: str) -> list[tuple[Any, ...]]:
    """What the tenant's audit history says was done, by whom and by which command."""
    async with tenant_transaction(pool, tenant) as conn:
        rows = await conn.fetch(
            "SELECT number, action, org_unit_id_after, principal_sub, principal_role, command_id"
            " FROM caller_number_audit"
        )
    return sorted((tuple(row) for row in rows), key=repr)


def comparable(outcomes: list[Any]) -> list[tuple[Any, ...]]:
    """What a caller sees of each outcome, without the row ids (other tenant, other ids)."""
    return [
        (
            o.number,
            o.status,
            o.reason,
            o.message,
            o.caller_number and (o.caller_number.org_unit_id, o.caller_number.description),
        )
        for o in outcomes
    ]


@settings(
    # The examples share the session's database; each opens its own pool and two tenants.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_batch_decides_as_its_commands_one_at_a_time_in_order(
    settings: Settings, pool: asyncpg.Pool, data: st.DataObject
) -> None:
    """`pool` migrates the database; each example opens its own, on its own event loop.
    Drawn: the tenant's quota; commands of every kind on a few numbers, creates by an upstream
    system or a user, some delivered twice in the batch, some failing every time
    (dead-lettered, as if never sent). The same outcomes, numbers and audit history."""

    async def run() -> None:
        own = await create_pool(settings.database_url, max_size=2)
        try:
            batched, alone = await new_tenant(own), await new_tenant(own)
            quota = data.draw(st.sampled_from([None, 0, 1, 2, 3]), label="quota")
            for tenant in (batched, alone):
                await set_quota(own, tenant, quota)
            drawn = data.draw(commands_for(batched), label="commands")
            sent = drawn + data.draw(st.lists(st.sampled_from(drawn), max_size=3), label="again")
            poison = {
                c.message_id
                for c in data.draw(st.lists(st.sampled_from(drawn), max_size=2), label="poison")
            }
            failing = {("registry.command", str(message_id)) for message_id in poison}
            with mock.patch.object(faults, "_FAILS", failing):
                batch = await command_batches.apply_batch(
                    own, records(*sent), verifier(), max_attempts=1
                )
            assert {letter.record.offset for letter in batch.letters} == {
                offset for offset, c in enumerate(sent) if c.message_id in poison
            }
            expected = []
            for command in (c for c in sent if c.message_id not in poison):
                again = command.model_copy(update={"tenant_id": alone})
                async with tenant_transaction(own, alone) as conn:
                    expected.append(comparable((await registry.apply(conn, again)).outcomes))
            assert [comparable(a.applied.outcomes) for a in batch.answered] == expected
            assert await numbers_of(own, batched) == await numbers_of(own, alone)
            assert await audit_of(own, batched) == await audit_of(own, alone)
        finally:
            await own.close()

    asyncio.run(run())
