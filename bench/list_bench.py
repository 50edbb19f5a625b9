"""The list at scale: one tenant with N numbers, the list's queries, the export, a bulk move.

    .venv/bin/python -m bench.list_bench --numbers 250000

Starts the three services as processes (production settings), writes N numbers in five OUs
straight into PostgreSQL (the add path has its own benchmark), then prints the median time of
each list query through the gateway, the export's time and size, and the time a bulk move of
every number takes from the request to its last outcome. Not a test: it prints and exits 0.
"""

import argparse
import asyncio
import os
import statistics
import time
import uuid

import asyncpg
import httpx

from bench.import_bench import LOG_DIR, SECRET
from bench.load_bench import system_admin
from services.api_gateway.mint_token import mint
from shared.db.tenants import TENANTS_MAY_MAINTAIN
from shared.settings import get_settings
from tests.infra import backing_services
from tests.processes import APPS, ServiceProcess, service_env
from tests.waiting import deadline

QUERIES = [
    "limit=20",
    "limit=100&sort=number",
    "limit=100&sort=-org_unit",
    "limit=100&sort=created_at&offset={last}",
    "limit=100&contains=1234",
    "limit=100&prefix=0000012",
    "limit=100&org_unit_id=ou1&include_sub_units=true&sort=number",
]
BULK = "/api/v1/caller-number-bulk-operations"


async def seeded_tenant(http: httpx.AsyncClient, owner_url: str, count: int) -> dict[str, str]:
    tenant = f"list-{uuid.uuid4().hex[:8]}"
    body = {"id": tenant, "name": tenant, "calling_number_anonymization": True}
    (await http.post("/api/v1/admin/tenants", json=body, headers=system_admin())).raise_for_status()
    for n in range(5):
        unit = {"id": f"ou{n}", "name": f"OU {n}"}
        (
            await http.post(
                f"/api/v1/admin/tenants/{tenant}/org-units", json=unit, headers=system_admin()
            )
        ).raise_for_status()
    conn = await asyncpg.connect(owner_url)
    try:
        async with conn.transaction():  # one import-like batch: one created_at for all
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            await conn.execute(
                "INSERT INTO caller_number (tenant_id, number, org_unit_id, description) "
                "SELECT $1, lpad(n::text, 11, '0'), 'ou' || (n % 5), 'bench' "
                "FROM generate_series(1, $2) AS n",
                tenant,
                count,
            )
        await conn.execute("ANALYZE caller_number")
    finally:
        await conn.close()
    return {"Authorization": "Bearer " + mint(sub="bench", role="tenant_admin", tenant_id=tenant)}


async def queries(http: httpx.AsyncClient, admin: dict[str, str], count: int) -> None:
    print(f"\nlist queries on {count:,} numbers (median of 5)")
    for template in QUERIES:
        query = template.format(last=count - 100)
        times = []
        for _ in range(5):
            started = time.monotonic()
            response = await http.get(f"/api/v1/caller-numbers?{query}", headers=admin)
            times.append(time.monotonic() - started)
            response.raise_for_status()
        total = response.json()["total"]
        print(f"  {query:62s} {statistics.median(times) * 1000:6.0f} ms  ({total:,} match)")
    for format in ("csv", "xlsx"):
        started = time.monotonic()
        response = await http.get(f"/api/v1/caller-numbers/export?format={format}", headers=admin)
        response.raise_for_status()
        size = len(response.content) / 1e6
        print(f"  export {format:4s} {size:5.1f} MB in {time.monotonic() - started:5.1f} s")


async def bulk_move(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    started = time.monotonic()
    body = {"action": "move", "org_unit_id": "ou0", "filter": {}}
    response = await http.post(BULK, json=body, headers=admin)
    response.raise_for_status()
    operation = response.json()
    accepted = time.monotonic() - started
    async for _ in deadline(600, every=0.2):
        operation = (await http.get(f"{BULK}/{operation['id']}", headers=admin)).json()
        if operation["status"] == "completed":
            break
    else:
        raise AssertionError(f"bulk operation {operation['id']} not completed in 600 s")
    elapsed = time.monotonic() - started
    print(f"\nbulk move of all {operation['total']:,} in {operation['commands']} commands")
    print(f"  accepted (set fixed, commands sent) {accepted:6.1f} s")
    print(
        f"  every outcome stored                {elapsed:6.1f} s"
        f"  ({operation['total'] / elapsed:,.0f} numbers/s)  {operation['counts']}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--numbers", type=int, default=250_000)
    parser.add_argument("--no-bulk", action="store_true")
    args = parser.parse_args()
    with backing_services() as backing:
        running = {
            name: ServiceProcess(name, service_env(backing, secret=SECRET), LOG_DIR)
            for name in APPS
        }
        try:
            for process in running.values():
                process.start()
            async with httpx.AsyncClient(base_url=running["api_gateway"].url, timeout=600) as http:
                await http.put(
                    f"/api/v1/admin/system-parameters/{TENANTS_MAY_MAINTAIN}",
                    json={"value": True},
                    headers=system_admin(),
                )
                admin = await seeded_tenant(http, backing.database_owner_url, args.numbers)
                await queries(http, admin, args.numbers)
                if not args.no_bulk:
                    await bulk_move(http, admin)
        finally:
            for process in running.values():
                process.stop()


if __name__ == "__main__":
    os.environ["AUTH_JWT_SECRET"] = SECRET
    get_settings.cache_clear()  # tokens are signed with the services' secret
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    asyncio.run(main())
