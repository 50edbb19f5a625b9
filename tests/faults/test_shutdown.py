"""SIGTERM mid-work: in-flight work finishes or comes again, never lost; shutdown is prompt."""

import asyncio
import signal
import time

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from shared import topics
from shared.kafka import client_options
from tests import factories as f
from tests.e2e.test_imports import registry_waits_on_a_lock
from tests.faults.checker import assert_each_command_applied_once, processed_count
from tests.faults.cluster import Cluster
from tests.faults.imports import numbers_csv, until_final, upload
from tests.faults.test_crashes import import_and_finish, messy_csv
from tests.infra import Backing
from tests.kafka import TopicTap, tap
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


async def test_a_registry_stopped_mid_import_commits_the_row_batch_in_flight(
    cluster: Cluster,
    gateway: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    db: asyncpg.Pool,
    backing: Backing,
) -> None:
    """The registry's row consumers (one per partition, FastStream max_workers) are stopped
    only once the batch in flight is written and its offset committed: no batch comes again."""
    cluster.start("number_registry")
    cluster.start("import_worker")
    tenant = await f.create_tenant(gateway)
    admin = f.tenant_admin(tenant)
    content = numbers_csv(60, prefix="6")
    first = content.decode().split("\r\n")[1]
    log = cluster.processes["number_registry"].log_dir / "number_registry.log"
    settings = backing.settings()
    async with (
        tap(settings, topics.IMPORT_ROWS, producer) as sent,
        tap(settings, topics.IMPORT_ROW_RESULTS, producer) as results,
    ):
        async with db.acquire() as conn:
            # The first number held uncommitted: a batch of the registry waits on it, in flight.
            blocker = conn.transaction()
            await blocker.start()
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            await conn.execute(
                "INSERT INTO caller_number (tenant_id, number) VALUES ($1, $2)", tenant, first
            )
            task_id = await upload(gateway, admin, content)
            await registry_waits_on_a_lock(db, conn.get_server_pid())
            logged_before = log.stat().st_size
            stopping = asyncio.create_task(
                asyncio.to_thread(cluster.kill, "number_registry", signal.SIGTERM)
            )
            async for _ in deadline(GRACE_SECONDS):
                with log.open() as lines:
                    lines.seek(logged_before)
                    if "FastStream app shutting down" in lines.read():
                        break
            # Stopping now, with the batch in flight: the row consumers stay in their group
            # until it is done (stopped consumers leave it at once, and could not commit).
            async for _ in deadline(3, every=0.2):
                assert await group_members(backing, "number-registry-imports") > 0
            await blocker.rollback()  # the batch in flight goes on, then the registry stops
        await stopping
        cluster.revive("number_registry")
        task = await until_final(gateway, admin, task_id)
        assert task["status"] == "completed"
        assert task["counters"]["succeeded"] == 60
        await sent.drain()
        await results.drain()
    batches = [message for message in sent.seen if message.get("task_id") == task_id]
    answers = [message for message in results.seen if message.get("task_id") == task_id]
    assert sorted(row["row_number"] for batch in batches for row in batch["rows"]) == list(
        range(2, 62)
    )
    assert len(answers) == len(batches)  # each batch answered once: none came again


async def group_members(backing: Backing, group: str) -> int:
    """How many consumers the group has now, as its coordinator tells it."""
    admin = AIOKafkaAdminClient(**client_options(backing.settings()))
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    (described,) = response.groups  # error code, group id, state, protocol type and name, members
    return len(described[5])
