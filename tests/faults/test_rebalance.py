"""A second registry instance joins and leaves under load: no loss, duplicates absorbed."""

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared import topics
from tests import factories as f
from tests.faults.checker import assert_each_command_applied_once, processed_count
from tests.faults.cluster import Cluster
from tests.kafka import TopicTap
from tests.processes import ServiceProcess
from tests.signing import signed
from tests.waiting import deadline

pytestmark = pytest.mark.faults


async def test_a_registry_joining_and_leaving_under_load_changes_no_outcome(
    cluster: Cluster,
    gateway: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    fault_events: TopicTap,
    db: asyncpg.Pool,
) -> None:
    first = cluster.start("number_registry")
    tenants = [await f.create_tenant(gateway) for _ in range(3)]  # keys on every partition
    second = ServiceProcess(
        "number_registry", {**first.env, "KAFKA_INSTANCE_ID": "second-registry"}, first.log_dir
    )
    commands = []
    try:
        for n in range(300):
            tenant = tenants[n % 3]
            command = f.create_command(tenant, [f"82{n:06d}"])
            value = command.model_dump_json().encode()
            await producer.send(
                topics.CALLER_NUMBER_COMMANDS, value, key=tenant.encode(), headers=signed(value)
            )
            commands.append(command)
            if n == 60:
                second.start()  # joins: the partitions are shared out again
            if n == 200:
                second.stop()  # leaves: they come back to the first
        await producer.flush()
    finally:
        second.stop()
    async for _ in deadline(90):
        counts = [await processed_count(db, tenant) for tenant in tenants]
        if sum(counts) == len(commands):
            break
    ids = {str(c.message_id) for c in commands}
    await fault_events.wait_for(
        lambda e: e.get("command_id") in ids, count=len(commands), distinct=True
    )
    await fault_events.drain()
    for tenant in tenants:
        mine = [c for c in commands if c.tenant_id == tenant]
        their_ids = {str(c.message_id) for c in mine}
        events = [e for e in fault_events.seen if e.get("command_id") in their_ids]
        await assert_each_command_applied_once(db, tenant, mine, events)
