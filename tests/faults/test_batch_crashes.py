"""The registry killed (SIGKILL) in the middle of command batches under an upstream burst:
each command applied once, in order, with one stored outcome and the same events every time."""

from collections import defaultdict
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared import topics
from shared.contracts import CallerNumberCommand, DeleteCallerNumber
from shared.db.pool import tenant_transaction
from tests import factories as f
from tests.faults.checker import processed_count
from tests.faults.cluster import Cluster
from tests.kafka import TopicTap
from tests.signing import signed
from tests.waiting import deadline

pytestmark = pytest.mark.faults
MIN_KILLS = 5
COMMANDS = 2_000


def burst(tenant: str) -> list[CallerNumberCommand]:
    """Single-number creates; every 7th number deleted right after its create, so a batch
    holds both and only their order makes the delete find the number."""
    commands: list[CallerNumberCommand] = []
    for n in range(COMMANDS):
        number = f"73{n:06d}"
        commands.append(f.create_command(tenant, [number]))
        if n % 7 == 0:
            commands.append(
                DeleteCallerNumber(
                    tenant_id=tenant, principal=commands[-1].principal, number=number
                )
            )
    return commands


async def test_killed_mid_batch_each_command_applies_once_in_order_with_the_same_events(
    cluster: Cluster,
    gateway: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    fault_events: TopicTap,
    db: asyncpg.Pool,
) -> None:
    # Inside the batch's transaction (nothing of it committed; the point is passed after each
    # run of creates and each other command), after its commit (no events yet) and after its
    # events (offsets not committed): each time the batch comes again.
    cluster.start(
        "number_registry",
        COMMAND_BATCH_RECORDS="100",  # more batches, so more kills in the same time
        CRASH_POINTS="registry.mid_batch=0.01,registry.after_commit=0.05,registry.after_publish=0.05",
    )
    tenant = await f.create_tenant(gateway)
    commands = burst(tenant)
    for command in commands:  # as fast as an upstream system can, then the kills
        value = command.model_dump_json().encode()
        await producer.send(
            topics.CALLER_NUMBER_COMMANDS, value, key=tenant.encode(), headers=signed(value)
        )
    await producer.flush()
    async for _ in deadline(300, every=0.05):
        if cluster.revive("number_registry"):
            continue
        if await processed_count(db, tenant) == len(commands):
            break
    kills = cluster.restarts["number_registry"]
    print(f"registry: {len(commands)} commands, {kills} kills")
    assert kills >= MIN_KILLS

    ids = {str(c.message_id) for c in commands}
    await fault_events.wait_for(
        lambda e: e.get("command_id") in ids, count=len(commands), distinct=True
    )
    await fault_events.drain()
    copies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in fault_events.seen:
        if event.get("command_id") in ids:
            copies[event["message_id"]].append(event)
    for message_id, same in copies.items():  # published again after a kill: the same event
        assert all(event == same[0] for event in same), message_id
    by_command = defaultdict(list)
    for first, *_ in copies.values():
        by_command[first["command_id"]].append(first["type"])

    async with tenant_transaction(db, tenant) as conn:
        outcomes = {
            str(r["command_id"]): [o["status"] for o in r["outcome"]]
            for r in await conn.fetch("SELECT command_id, outcome FROM processed_command")
        }
        stored = {r["number"] for r in await conn.fetch("SELECT number FROM caller_number")}
    expected = {
        str(c.message_id): ["deleted" if isinstance(c, DeleteCallerNumber) else "created"]
        for c in commands
    }
    assert outcomes == expected  # one outcome each; every delete found its number
    assert dict(by_command) == expected  # one event per outcome, however often published
    assert stored == {f"73{n:06d}" for n in range(COMMANDS) if n % 7}
