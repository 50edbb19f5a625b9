"""`Prefer: wait`: the gateway's waiter, woken by the registry's NOTIFY, on the real PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator
from unittest import mock
from uuid import uuid4

import asyncpg
import pytest_asyncio

from services.api_gateway import waiter as waiter_module
from services.api_gateway.waiter import CommandWaiter
from shared.contracts import CreateCallerNumbers, Principal
from shared.settings import Settings
from tests.integration.conftest import new_tenant
from tests.integration.test_registry import apply


@pytest_asyncio.fixture
async def waiter(settings: Settings) -> AsyncIterator[CommandWaiter]:
    started = CommandWaiter()
    await started.start(settings.database_url)
    yield started
    await started.stop()


async def test_a_waiting_request_gets_the_outcome_once_the_registry_stores_it(
    waiter: CommandWaiter, pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    command = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0101"])
    waiting = asyncio.create_task(
        waiter.wait(pool, tenant_id=tenant, command_id=command.message_id, seconds=20)
    )
    applied = await apply(pool, command)
    outcome = await asyncio.wait_for(waiting, 10)
    assert outcome is not None
    assert (outcome.results, outcome.processed_at) == (
        [o.model_dump(mode="json") for o in applied.outcomes],
        applied.processed_at,
    )


async def test_a_command_not_processed_in_time_answers_none(
    waiter: CommandWaiter, pool: asyncpg.Pool, tenant: str
) -> None:
    assert await waiter.wait(pool, tenant_id=tenant, command_id=uuid4(), seconds=0.2) is None


async def test_a_request_listening_before_it_publishes_is_woken_by_the_notification_alone(
    waiter: CommandWaiter, pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    command = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0102"])
    with (
        mock.patch.object(waiter_module, "_RECHECK_SECONDS", 3600),  # no polling to fall back on
        waiter.expecting(tenant_id=tenant, command_id=command.message_id) as expected,
    ):
        applied = await apply(pool, command)
        outcome = await asyncio.wait_for(expected.outcome(pool, seconds=3600), 30)
    assert outcome is not None
    assert outcome.processed_at == applied.processed_at


async def test_a_notification_carrying_the_outcome_answers_without_a_read(
    waiter: CommandWaiter, pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    command = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0103"])
    read = mock.AsyncMock(side_effect=AssertionError("read although the NOTIFY carried it"))
    with (
        mock.patch.object(waiter_module.commands, "get_outcome", read),
        waiter.expecting(tenant_id=tenant, command_id=command.message_id) as expected,
    ):
        applied = await apply(pool, command)
        outcome = await asyncio.wait_for(expected.outcome(pool, seconds=3600), 30)
    assert outcome is not None
    assert (outcome.results, outcome.processed_at) == (
        [o.model_dump(mode="json") for o in applied.outcomes],
        applied.processed_at,
    )


async def test_an_outcome_too_large_for_a_notification_is_read_when_notified(
    waiter: CommandWaiter, pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    numbers = [f"0104{i:04d}" for i in range(100)]  # ~15 KB of outcome: the NOTIFY has the key
    command = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=numbers)
    read = mock.AsyncMock(wraps=waiter_module.commands.get_outcome)
    with (
        mock.patch.object(waiter_module, "_RECHECK_SECONDS", 3600),  # woken by the NOTIFY alone
        mock.patch.object(waiter_module.commands, "get_outcome", read),
        waiter.expecting(tenant_id=tenant, command_id=command.message_id) as expected,
    ):
        applied = await apply(pool, command)
        outcome = await asyncio.wait_for(expected.outcome(pool, seconds=3600), 30)
    assert outcome is not None and len(outcome.results) == 100
    assert outcome.results == [o.model_dump(mode="json") for o in applied.outcomes]
    assert read.await_count == 1


async def settled(waiter: CommandWaiter, pool: asyncpg.Pool, tenant: str, sub: Principal) -> None:
    """Applies one more command and waits for its NOTIFY: every notification committed before
    has been handled by then (they come in commit order on the waiter's one connection)."""
    number = f"09{uuid4().int % 10**8:08d}"
    marker = CreateCallerNumbers(tenant_id=tenant, principal=sub, numbers=[number])
    with waiter.expecting(tenant_id=tenant, command_id=marker.message_id) as expected:
        await apply(pool, marker)
        assert await asyncio.wait_for(expected.outcome(pool, seconds=3600), 30) is not None


async def test_a_notification_of_another_tenant_or_command_leaves_a_waiter_waiting(
    waiter: CommandWaiter, pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    other = await new_tenant(pool)
    command = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0105"])
    same_id_elsewhere = command.model_copy(update={"tenant_id": other, "numbers": ["0106"]})
    with (
        mock.patch.object(waiter_module, "_RECHECK_SECONDS", 3600),
        waiter.expecting(tenant_id=tenant, command_id=command.message_id) as expected,
    ):
        await apply(pool, same_id_elsewhere)
        await settled(waiter, pool, tenant, service)  # another command of the same tenant
        assert await expected.outcome(pool, seconds=0) is None
        applied = await apply(pool, command)
        outcome = await asyncio.wait_for(expected.outcome(pool, seconds=3600), 30)
    assert outcome is not None
    assert outcome.results == [o.model_dump(mode="json") for o in applied.outcomes]
    assert outcome.results[0]["number"] == "0105"


async def test_an_unreadable_notification_wakes_the_waiter_to_read_and_breaks_nothing(
    waiter: CommandWaiter, pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    command = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["0107"])
    applied = await apply(pool, command)  # processed, its own NOTIFY handled before we wait
    await settled(waiter, pool, tenant, service)
    with (
        mock.patch.object(waiter_module, "_RECHECK_SECONDS", 3600),  # woken by the NOTIFY alone
        waiter.expecting(tenant_id=tenant, command_id=command.message_id) as expected,
    ):
        for payload in ("not json", "[1]", f'["{tenant}", "{command.message_id}", "noon", []]'):
            await pool.execute("SELECT pg_notify('command_processed', $1)", payload)
        outcome = await asyncio.wait_for(expected.outcome(pool, seconds=3600), 30)
    assert outcome is not None  # read back after the third woke it
    assert outcome.results == [o.model_dump(mode="json") for o in applied.outcomes]
    await settled(waiter, pool, tenant, service)  # still listening
