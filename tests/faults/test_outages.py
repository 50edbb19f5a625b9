"""PostgreSQL or Kafka gone for a while: services wait and retry, then finish correctly."""

import asyncio
import time
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from shared.db.pool import tenant_transaction
from tests import factories as f
from tests.faults.cluster import Cluster
from tests.faults.imports import (
    assert_every_row_told,
    numbers_csv,
    numbers_stored,
    report,
    until_final,
    upload,
)
from tests.faults.test_crashes import expected_counters, import_and_finish, messy_csv
from tests.infra import Backing
from tests.waiting import deadline

pytestmark = pytest.mark.faults
OUTAGE_SECONDS = 30


@pytest.fixture
def ours(backing: Backing) -> Backing:
    """The backing services, if scripts/local-services.sh may stop them (see tests/infra.py)."""
    if backing.local_services_env is None:
        pytest.skip("the given Kafka and PostgreSQL are not ours to stop: set CNR_STATE_DIR")
    return backing


async def test_postgres_down_for_30_seconds_during_an_import(
    cluster: Cluster, gateway: httpx.AsyncClient, ours: Backing
) -> None:
    cluster.start("number_registry")
    cluster.start("import_worker")
    tenant = await f.create_tenant(gateway)
    admin, content = f.tenant_admin(tenant), messy_csv(100_000)
    outage: list[httpx.Response] = []

    def stop_postgres_once(task: dict[str, object]) -> None:
        counters = task["counters"]
        assert isinstance(counters, dict)
        if not outage and counters["rows_read"] >= 10_000:
            ours.local_services("stop", "postgres")
            ends = time.monotonic() + OUTAGE_SECONDS
            with httpx.Client(base_url=cluster.url("api_gateway"), timeout=10) as client:
                while time.monotonic() < ends:  # the outage itself, not a wait for a condition
                    outage.append(client.get("/api/v1/caller-numbers", headers=admin))
                    time.sleep(1)
            ours.local_services("start", "postgres")

    task, _ = await import_and_finish(gateway, admin, content, stop_postgres_once)
    assert task["counters"] == expected_counters(content)
    assert outage and all(r.status_code == 503 for r in outage)
    assert {r.json()["error"]["code"] for r in outage} == {"unavailable"}
    # They waited it out: nobody died and had to be restarted.
    assert not any(cluster.dead(name) for name in cluster.processes)


async def test_kafka_restarted_during_adds_and_an_import_loses_nothing_answered_202(
    cluster: Cluster, gateway: httpx.AsyncClient, db: asyncpg.Pool, ours: Backing
) -> None:
    cluster.start("number_registry")
    cluster.start("import_worker")
    tenant = await f.create_tenant(gateway)
    admin, content = f.tenant_admin(tenant), messy_csv(100_000)
    importing = asyncio.create_task(import_and_finish(gateway, admin, content))
    restart = asyncio.create_task(asyncio.to_thread(ours.local_services, "restart", "kafka"))
    accepted: list[UUID] = []
    for n in range(300):
        response = await gateway.post(
            "/api/v1/caller-numbers", json={"numbers": [f"95{n:06d}"]}, headers=admin
        )
        assert response.status_code in (202, 503), response.text
        if response.status_code == 202:
            accepted.append(UUID(response.json()["command_id"]))
        if restart.done() and n >= 100:
            break
    await restart
    task, _ = await importing
    assert task["counters"] == expected_counters(content)
    async for _ in deadline(120):
        async with tenant_transaction(db, tenant) as conn:
            processed = await conn.fetchval(
                "SELECT count(*) FROM processed_command"
                " WHERE command_id = ANY($1::uuid[]) AND outcome IS NOT NULL",
                accepted,
            )
        if processed == len(accepted):
            break
    assert processed == len(accepted) and len(accepted) >= 100


async def test_postgres_down_longer_than_the_no_progress_timeout_fails_no_import(
    cluster: Cluster, gateway: httpx.AsyncClient, db: asyncpg.Pool, ours: Backing
) -> None:
    # PostgreSQL goes away once every row is read and sent but results are still coming:
    # if the outage counted as "no progress", the rows in flight would be settled as lost.
    outage, stall, rows = 15, 10, 30_000
    cluster.start("number_registry")
    cluster.start("import_worker", IMPORT_STALL_SECONDS=str(stall))
    tenant = await f.create_tenant(gateway)
    admin = f.tenant_admin(tenant)
    task_id = await upload(gateway, admin, numbers_csv(rows))
    stopped: list[int] = []

    async def stop_postgres_while_results_come(task: dict[str, Any]) -> None:
        counters = task["counters"]
        told = counters["succeeded"] + counters["failed"]
        if not stopped and counters["rows_read"] == rows and told < rows * 3 // 4:
            ours.local_services("stop", "postgres")
            stopped.append(told)
            await asyncio.sleep(outage)  # the outage itself, not a wait for a condition
            ours.local_services("start", "postgres")

    task = await until_final(
        gateway, admin, task_id, seconds=90, on_progress=stop_postgres_while_results_come
    )

    assert stopped, "the results outran the trigger"
    assert task["status"] == "completed", task
    lines = await report(gateway, admin, task_id)
    assert_every_row_told(task, lines, rows)
    assert task["counters"]["succeeded"] == rows == await numbers_stored(db, tenant)
    print(f"outage {outage} s > stall timeout {stall} s, at {stopped[0]} results: completed")
