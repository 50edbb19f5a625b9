"""The load test: adds through the gateway for 60 s, then 5 concurrent 100,000-row imports.

    .venv/bin/python -m bench.load_bench --seconds 60 --clients 16 --imports 5 --rows 100000

Loopback only, bounded in time and count, stops by itself. Prints commands/s sustained, the
p50/p99 time from POST to outcome (`Prefer: wait`), the CPU each service spent per command
(steadier than the rates on a shared machine), and the imports' wall time; then checks that
nothing answered 202 was lost (every command and every row has its outcome).
"""

import argparse
import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench import files
from bench.import_bench import LOG_DIR, SECRET, follow
from services.api_gateway.mint_token import mint
from shared.db.tenants import TENANTS_MAY_MAINTAIN
from shared.settings import get_settings
from tests.infra import backing_services
from tests.processes import APPS, ServiceProcess, service_env


def system_admin() -> dict[str, str]:
    return {"Authorization": "Bearer " + mint(sub="bench", role="system_admin")}


async def new_tenant(http: httpx.AsyncClient) -> dict[str, str]:
    tenant = f"load-{uuid.uuid4().hex[:8]}"
    body = {"id": tenant, "name": tenant, "calling_number_anonymization": True}
    (await http.post("/api/v1/admin/tenants", json=body, headers=system_admin())).raise_for_status()
    token = mint(sub="load", role="tenant_admin", tenant_id=tenant)
    return {"Authorization": f"Bearer {token}"}


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
                await adds(http, args.seconds, args.clients, running)
                await imports(http, args.imports, args.rows)
        finally:
            for process in running.values():
                process.stop()


if __name__ == "__main__":
    os.environ["AUTH_JWT_SECRET"] = SECRET
    get_settings.cache_clear()  # tokens are signed with the services' secret
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    asyncio.run(main())
