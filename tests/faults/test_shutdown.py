"""SIGTERM mid-work: in-flight work finishes or comes again, never lost; shutdown is prompt."""

import signal
import time

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared import topics
from tests import factories as f
from tests.faults.checker import assert_each_command_applied_once, processed_count
from tests.faults.cluster import Cluster
from tests.faults.test_crashes import import_and_finish, messy_csv
from tests.kafka import TopicTap
from tests.signing import signed
from tests.waiting import deadline

pytestmark = pytest.mark.faults
GRACE_SECONDS = 20  # the broker's graceful_timeout is 15 s


async def test_a_registry_stopped_mid_stream_loses_nothing_and_stops_in_time(
    cluster: Cluster,
    gateway: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    fault_events: TopicTap,
    db: asyncpg.Pool,
) -> None:
    cluster.start("number_registry")
    tenant = await f.create_tenant(gateway)
    commands = [f.create_command(tenant, [f"81{n:06d}"]) for n in range(200)]
    for command in commands:
        value = command.model_dump_json().encode()
        await producer.send(
            topics.CALLER_NUMBER_COMMANDS, value, key=tenant.encode(), headers=signed(value)
        )
    await producer.flush()
    async for _ in deadline(30):
        if await processed_count(db, tenant) >= 20:
            break
    log = cluster.processes["number_registry"].log_dir / "number_registry.log"
    logged_before = log.stat().st_size
    started = time.monotonic()
    cluster.kill("number_registry", signal.SIGTERM)
    assert time.monotonic() - started < GRACE_SECONDS
    # uvicorn re-raises SIGTERM once it has shut down: its log tells a clean stop from a kill.
    with log.open() as lines:
        lines.seek(logged_before)
        assert "FastStream app shut down gracefully" in lines.read()

    cluster.revive("number_registry")
    async for _ in deadline(60):
        if await processed_count(db, tenant) == len(commands):
            break
    ids = {str(c.message_id) for c in commands}
    await fault_events.wait_for(
        lambda e: e.get("command_id") in ids, count=len(commands), distinct=True
    )
    await fault_events.drain()
    mine = [e for e in fault_events.seen if e.get("command_id") in ids]
    await assert_each_command_applied_once(db, tenant, commands, mine)


async def test_a_worker_stopped_mid_import_hands_it_over_at_once(
    cluster: Cluster, gateway: httpx.AsyncClient
) -> None:
    cluster.start("number_registry")
    cluster.start("import_worker")
    admin = f.tenant_admin(await f.create_tenant(gateway))
    stopped: list[float] = []

    def stop_while_reading(task: dict[str, object]) -> None:
        counters = task["counters"]
        assert isinstance(counters, dict)
        if not stopped and counters["rows_read"] >= 20_000:
            started = time.monotonic()
            cluster.kill("import_worker", signal.SIGTERM)
            stopped.append(time.monotonic() - started)
            cluster.revive("import_worker")

    task, _ = await import_and_finish(gateway, admin, messy_csv(100_000), stop_while_reading)
    assert stopped and stopped[0] < GRACE_SECONDS
    assert task["counters"]["succeeded"] + task["counters"]["failed"] == 100_000
