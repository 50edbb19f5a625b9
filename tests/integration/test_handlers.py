"""Each service's subscribers as create_app wires them, on FastStream's TestKafkaBroker and the
real PostgreSQL: the right topic reaches the right code, and its answer the right topic."""

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.number_registry.main import create_app as create_registry
from shared import topics
from shared.contracts import CreateCallerNumbers, ImportRowResult, ImportRowsApplied, Principal
from shared.settings import Settings
from tests import signing
from tests.integration.conftest import Seen, listen
from tests.integration.test_imports import new_task, read, rows_read, start


@pytest_asyncio.fixture
async def registry(
    settings: Settings, pool: asyncpg.Pool
) -> AsyncIterator[tuple[KafkaBroker, Seen]]:
    broker = create_registry(settings).broker
    assert broker is not None
    broker.context.set_global("pool", pool)  # what the lifespan opens
    seen = listen(broker, topics.CALLER_NUMBER_EVENTS, topics.IMPORT_ROW_RESULTS)
    async with TestKafkaBroker(broker) as testing:
        yield testing, seen


async def test_a_command_on_the_commands_topic_is_answered_per_number_on_the_events_topic(
    registry: tuple[KafkaBroker, Seen], tenant: str, service: Principal
) -> None:
    broker, seen = registry
    command = CreateCallerNumbers(tenant_id=tenant, principal=service, numbers=["091", "9x"])
    value = command.model_dump_json().encode()
    headers = signing.upstream().headers(value)
    await broker.publish(value, topics.CALLER_NUMBER_COMMANDS, key=tenant.encode(), headers=headers)
    events = seen[topics.CALLER_NUMBER_EVENTS]
    assert [(e["type"], e["command_id"]) for e in events] == [
        ("created", str(command.message_id)),
        ("rejected", str(command.message_id)),
    ]


async def test_a_row_batch_is_answered_with_its_results_on_the_row_results_topic(
    registry: tuple[KafkaBroker, Seen], pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    broker, seen = registry
    task = await new_task(pool, tenant, service)
    await start(pool, tenant, task.id, rows_total=2)
    batch = rows_read(tenant, service, task.id, "092", "092")
    await broker.publish(batch.model_dump_json().encode(), topics.IMPORT_ROWS, key=b"x")
    [applied] = seen[topics.IMPORT_ROW_RESULTS]
    assert applied["task_id"] == str(task.id)
    assert [r["succeeded"] for r in applied["results"]] == [True, False]


async def test_the_last_row_results_complete_the_task_on_the_import_events_topic(
    worker: tuple[KafkaBroker, Seen], pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    broker, seen = worker
    task = await new_task(pool, tenant, service)
    await start(pool, tenant, task.id, rows_total=1)
    await read(pool, tenant, task.id, 1)
    result = ImportRowResult(row_number=2, as_written="093", succeeded=True)
    applied = ImportRowsApplied(
        tenant_id=tenant, principal=service, task_id=task.id, results=[result]
    )
    await broker.publish(applied.model_dump_json().encode(), topics.IMPORT_ROW_RESULTS)
    [event] = seen[topics.IMPORT_EVENTS]
    assert (event["type"], event["task_id"]) == ("import_completed", str(task.id))
    assert event["counters"]["succeeded"] == 1
