"""Each service's subscribers as create_app wires them, on FastStream's TestKafkaBroker and the
real PostgreSQL: the right topic reaches the right code, and its answer the right topic."""

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio
from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.number_registry.main import create_app as create_registry
from shared import topics
from shared.contracts import CreateCallerNumbers, ImportRowResult, ImportRowsApplied, Principal
from shared.db import imports
from shared.db.imports import RowResult
from shared.db.pool import tenant_transaction
from shared.rules import Reason
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


async def test_a_row_batch_is_stored_with_its_results_and_answered_on_the_row_results_topic(
    registry: tuple[KafkaBroker, Seen], pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    broker, seen = registry
    task = await new_task(pool, tenant, service)
    await start(pool, tenant, task.id, rows_total=2)
    batch = rows_read(tenant, service, task.id, "092", "092")
    await broker.publish(batch.model_dump_json().encode(), topics.IMPORT_ROWS, key=b"x")
    [applied] = seen[topics.IMPORT_ROW_RESULTS]
    assert (applied["task_id"], applied["results"]) == (str(task.id), [])
    async with tenant_transaction(pool, tenant) as conn:  # committed with the numbers
        stored = await conn.fetch(
            "SELECT row_number, succeeded, reason_code FROM import_row_result"
            " WHERE task_id = $1 ORDER BY row_number",
            task.id,
        )
        counted = await imports.get_task(conn, task_id=task.id)
    assert [tuple(r) for r in stored] == [(2, True, None), (3, False, Reason.DUPLICATE)]
    assert counted is not None and (counted.succeeded, counted.duplicates) == (1, 1)


async def test_the_answer_to_the_last_rows_completes_the_task_on_the_import_events_topic(
    worker: tuple[KafkaBroker, Seen], pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    broker, seen = worker
    task = await new_task(pool, tenant, service)
    await start(pool, tenant, task.id, rows_total=1)
    await read(pool, tenant, task.id, 1)
    async with tenant_transaction(pool, tenant) as conn:  # as the registry stores them
        result = RowResult(row_number=2, as_written="093", succeeded=True)
        await imports.store_results(conn, task_id=task.id, results=[result])
    applied = ImportRowsApplied(tenant_id=tenant, principal=service, task_id=task.id)
    await broker.publish(applied.model_dump_json().encode(), topics.IMPORT_ROW_RESULTS)
    [event] = seen[topics.IMPORT_EVENTS]
    assert (event["type"], event["task_id"]) == ("import_completed", str(task.id))
    assert event["counters"]["succeeded"] == 1


async def test_results_an_older_registry_lists_in_its_answer_are_recorded_and_complete_the_task(
    worker: tuple[KafkaBroker, Seen], pool: asyncpg.Pool, tenant: str, service: Principal
) -> None:
    """A registry of the version before sent each row's result on the topic, unstored."""
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
