"""The load test: adds through the gateway for 60 s, then 5 concurrent 100,000-row imports.

    .venv/bin/python -m bench.load_bench --seconds 60 --clients 16 --imports 5 --rows 100000

Loopback only, bounded in time and count, stops by itself. Prints commands/s sustained, the
p50/p99 time from POST to outcome (`Prefer: wait`), the CPU each service spent per command
(steadier than the rates on a shared machine), and the imports' wall time; then checks that
nothing answered 202 was lost (every command and every row has its outcome).

Two more modes for the commands alone (`--imports 0` leaves the imports out):

    # an upstream producer: 5,000 single-number creates for one tenant straight onto the
    # commands topic; commands/s until every outcome event is seen and every command stored
    .venv/bin/python -m bench.load_bench --upstream 5000 --imports 0
    # open loop at a fixed rate through the gateway: POSTs every 1/200 s for 30 s, whatever
    # the answers' pace; p50/p99 from POST to outcome
    .venv/bin/python -m bench.load_bench --rate 200 --seconds 30 --imports 0
"""

import argparse
import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import files
from bench.import_bench import LOG_DIR, SECRET, follow
from services.api_gateway.mint_token import mint
from shared import topics
from shared.contracts import CreateCallerNumbers, Principal, Role
from shared.db.pool import create_pool, tenant_transaction
from shared.db.tenants import TENANTS_MAY_MAINTAIN
from shared.kafka import PRODUCER_OPTIONS, client_options
from shared.settings import get_settings
from tests.infra import Backing, backing_services
from tests.processes import APPS, CLIENT_LIMITS, ServiceProcess, service_env
from tests.signing import signed


def system_admin() -> dict[str, str]:
    return {"Authorization": "Bearer " + mint(sub="bench", role="system_admin")}


async def create_tenant(http: httpx.AsyncClient) -> str:
    tenant = f"load-{uuid.uuid4().hex[:8]}"
    body = {"id": tenant, "name": tenant, "calling_number_anonymization": True}
    (await http.post("/api/v1/admin/tenants", json=body, headers=system_admin())).raise_for_status()
    return tenant


async def new_tenant(http: httpx.AsyncClient) -> dict[str, str]:
    tenant = await create_tenant(http)
    token = mint(sub="load", role="tenant_admin", tenant_id=tenant)
    return {"Authorization": f"Bearer {token}"}


async def warm_up(http: httpx.AsyncClient) -> None:
    """One add to a tenant of its own, waited for: the registry holds its partitions (a fresh
    process joins its consumer group first), so the timings measure the running system, not
    its start."""
    response = await http.post(
        "/api/v1/caller-numbers",
        json={"numbers": ["5000000000"]},
        headers={**await new_tenant(http), "Prefer": "wait=60"},
    )
    assert response.status_code == 200, f"warm-up add: {response.status_code} {response.text}"


async def add_for(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    seconds: float,
    client: int,
    latencies: list[float],
    lost: list[str],
) -> None:
    """One client: adds one new number after another until the time is up."""
    ends, n = time.monotonic() + seconds, 0
    while time.monotonic() < ends:
        started = time.monotonic()
        response = await http.post(
            "/api/v1/caller-numbers",
            json={"numbers": [f"6{client:03d}{n:08d}"]},
            headers={**admin, "Prefer": "wait=30"},
        )
        if response.status_code == 200:
            latencies.append(time.monotonic() - started)
        else:
            lost.append(f"{response.status_code} {response.text[:100]}")
        n += 1


def cpu_seconds(service: ServiceProcess) -> float:
    """The user and system CPU time the service's process has used so far (Linux /proc)."""
    assert service.process is not None
    stat = Path(f"/proc/{service.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def adds(
    http: httpx.AsyncClient, seconds: float, clients: int, running: dict[str, ServiceProcess]
) -> None:
    admin = await new_tenant(http)
    latencies: list[float] = []
    lost: list[str] = []
    cpu = {name: cpu_seconds(service) for name, service in running.items()}
    started = time.monotonic()
    await asyncio.gather(
        *(add_for(http, admin, seconds, c, latencies, lost) for c in range(clients))
    )
    elapsed = time.monotonic() - started
    cpu = {name: cpu_seconds(service) - cpu[name] for name, service in running.items()}
    listed = (await http.get("/api/v1/caller-numbers?limit=1", headers=admin)).json()
    p50, p99 = (statistics.quantiles(latencies, n=100)[i] * 1000 for i in (49, 98))
    print(f"\nadds: {clients} clients for {elapsed:.0f} s")
    print(
        f"  commands with an outcome      {len(latencies):8d}  ({len(latencies) / elapsed:.0f}/s)"
    )
    print(f"  time to outcome p50 / p99     {p50:6.0f} / {p99:.0f} ms")
    for name in ("api_gateway", "number_registry"):
        per_command = cpu[name] / max(len(latencies), 1) * 1000
        print(f"  {name + ' CPU per command':30}{per_command:8.2f} ms")
    print(f"  without an outcome in time    {len(lost):8d}")
    print(f"  numbers stored                {listed['total']:8d}")
    assert not lost and listed["total"] == len(latencies), (lost[:3], listed["total"])


async def adds_at_rate(http: httpx.AsyncClient, seconds: float, rate: float, warm: float) -> None:
    """Open loop: a POST every 1/rate s, each waiting for its outcome on its own, so a slow
    answer does not slow the senders down (the closed loop of `adds` would hide queueing).
    The first `warm` seconds at the same rate are not timed: the client opens its connections
    and the gateway fills its pool (each new PostgreSQL connection prepares its statements).
    Sent with aiohttp, whose client costs a fraction of httpx's CPU: at 200/s httpx took most
    of a core of this 2-core machine and sent seconds late. Connections are not capped, so no
    request queues in the client."""
    admin = await new_tenant(http)
    latencies: list[float] = []
    lags: list[float] = []  # how late this process sent, against the schedule
    lost: list[str] = []
    untimed, total = int(warm * rate), int((warm + seconds) * rate)
    url = str(http.base_url.join("/api/v1/caller-numbers"))
    headers = {**admin, "Prefer": "wait=10", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=CLIENT_LIMITS.keepalive_expiry)
    client = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))
    started = time.monotonic()

    async def one(n: int) -> None:
        due = started + n / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        sent = time.monotonic()
        body = b'{"numbers":["63%09d"]}' % n
        try:
            async with client.post(url, data=body, headers=headers) as response:
                text = await response.text()
        except aiohttp.ClientError as error:
            lost.append(repr(error))
            return
        if response.status != 200:
            lost.append(f"{response.status} {text[:100]}")
        elif n >= untimed:
            lags.append(sent - due)
            latencies.append(time.monotonic() - sent)

    async with client:
        await asyncio.gather(*(one(n) for n in range(total)))
    elapsed = time.monotonic() - started - warm
    assert len(latencies) >= 2, f"{len(latencies)} of {total - untimed} answered: {lost[:3]}"
    listed = (await http.get("/api/v1/caller-numbers?limit=1", headers=admin)).json()
    p50, p99 = (statistics.quantiles(latencies, n=100)[i] * 1000 for i in (49, 98))
    print(
        f"\nadds at a fixed rate: {rate:.0f}/s through the gateway for {seconds:.0f} s, "
        f"after {warm:.0f} s untimed"
    )
    print(
        f"  commands with an outcome      {len(latencies):8d}  ({len(latencies) / elapsed:.0f}/s)"
    )
    print(
        f"  sent late by (p99, this host)  {statistics.quantiles(lags, n=100)[98] * 1000:6.0f} ms"
    )
    print(f"  time to outcome p50 / p99     {p50:6.0f} / {p99:.0f} ms")
    print(f"  time to outcome max           {max(latencies) * 1000:6.0f} ms")
    print(f"  without an outcome in time    {len(lost):8d}")
    print(f"  numbers stored                {listed['total']:8d}")
    assert not lost and listed["total"] == total, (lost[:3], listed["total"])


async def upstream(http: httpx.AsyncClient, backing: Backing, count: int) -> None:
    """An upstream system's sync: `count` single-number creates for one tenant published
    straight onto the commands topic (one partition: the key is the tenant id), timed from the
    first send until every command's outcome event is on the events topic."""
    tenant_id = await create_tenant(http)
    settings = backing.settings()
    principal = Principal(sub="bench-upstream", role=Role.SERVICE)
    bodies = [
        CreateCallerNumbers(tenant_id=tenant_id, principal=principal, numbers=[f"64{n:09d}"])
        .model_dump_json()
        .encode()
        for n in range(count)
    ]
    signed_bodies = [(body, signed(body)) for body in bodies]  # as the upstream system `crm`
    producer = AIOKafkaProducer(**client_options(settings), **PRODUCER_OPTIONS)
    events = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await producer.start()
    await events.start()
    try:
        partitions = [
            TopicPartition(topics.CALLER_NUMBER_EVENTS, p)
            for p in await producer.partitions_for(topics.CALLER_NUMBER_EVENTS)
        ]
        events.assign(partitions)
        await events.seek_to_end(*partitions)
        for partition in partitions:
            await events.position(partition)  # "end" resolved before anything is sent
        started = time.monotonic()
        for body, headers in signed_bodies:
            await producer.send(
                topics.CALLER_NUMBER_COMMANDS, body, key=tenant_id.encode(), headers=headers
            )
        await producer.flush()
        published = time.monotonic() - started
        answered: set[str] = set()
        while len(answered) < count:
            batch = await events.getmany(timeout_ms=200)
            if time.monotonic() - started > 600:
                raise AssertionError(f"only {len(answered)} of {count} answered in 600 s")
            for record in (r for records in batch.values() for r in records):
                event = orjson.loads(record.value)
                if event["tenant_id"] == tenant_id:
                    answered.add(event["command_id"])
        elapsed = time.monotonic() - started
    finally:
        await events.stop()
        await producer.stop()
    pool = await create_pool(settings.database_url)
    try:
        async with tenant_transaction(pool, tenant_id) as conn:
            stored = await conn.fetchval(
                "SELECT count(*) FROM processed_command WHERE outcome IS NOT NULL"
            )
            numbers = await conn.fetchval("SELECT count(*) FROM caller_number")
    finally:
        await pool.close()
    print(f"\nupstream: {count} single-number creates for one tenant onto the commands topic")
    print(f"  published in                  {published:8.1f} s")
    print(f"  every outcome event seen in   {elapsed:8.1f} s  ({count / elapsed:,.0f} commands/s)")
    print(f"  commands stored / numbers     {stored:8d} / {numbers}")
    assert stored == numbers == count, (stored, numbers)


async def imports(http: httpx.AsyncClient, count: int, rows: int) -> None:
    path = files.csv(rows)
    admins = [await new_tenant(http) for _ in range(count)]
    started = time.monotonic()

    async def one(admin: dict[str, str]) -> Any:
        with path.open("rb") as file:
            response = await http.post(
                "/api/v1/caller-number-imports", files={"file": (path.name, file)}, headers=admin
            )
        return await follow(http, admin, response.json()["id"], {})

    tasks = await asyncio.gather(*(one(admin) for admin in admins))
    elapsed = time.monotonic() - started
    print(f"\nimports: {count} tenants x {rows:,} rows at once")
    print(
        f"  all completed in              {elapsed:8.1f} s  ({count * rows / elapsed:,.0f} rows/s)"
    )
    for task in tasks:
        assert task["status"] == "completed" and task["counters"]["succeeded"] == rows, task


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--imports", type=int, default=5)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--upstream", type=int, default=0, help="commands straight onto Kafka")
    parser.add_argument("--rate", type=float, default=0, help="POSTs per second, open loop")
    parser.add_argument("--warm-up", type=float, default=5, help="untimed seconds before --rate")
    args = parser.parse_args()
    with backing_services() as backing:
        running = {
            name: ServiceProcess(name, service_env(backing, secret=SECRET), LOG_DIR)
            for name in APPS
        }
        try:
            for process in running.values():
                process.start()
            async with httpx.AsyncClient(base_url=running["api_gateway"].url, timeout=120) as http:
                await http.put(
                    f"/api/v1/admin/system-parameters/{TENANTS_MAY_MAINTAIN}",
                    json={"value": True},
                    headers=system_admin(),
                )
                await warm_up(http)
                if args.upstream:
                    await upstream(http, backing, args.upstream)
                if args.rate:
                    await adds_at_rate(http, args.seconds, args.rate, args.warm_up)
                if not (args.upstream or args.rate):
                    await adds(http, args.seconds, args.clients, running)
                if args.imports:
                    await imports(http, args.imports, args.rows)
        finally:
            for process in running.values():
                process.stop()


if __name__ == "__main__":
    os.environ["AUTH_JWT_SECRET"] = SECRET
    get_settings.cache_clear()  # tokens are signed with the services' secret
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    asyncio.run(main())
