"""The bulk-import benchmark: the whole pipeline on local Kafka and PostgreSQL, and the floor.

    .venv/bin/python -m bench.import_bench --rows 1000000 --format xlsx [--ou-column]

--ou-column fills the optional Organization Unit and Description columns of every row (OUs by
path and by id), so the per-row OU and description checks run on every row.

Starts the three services as processes (production settings), uploads an N-row file, follows
the task to the end, downloads the report, and prints per-stage and end-to-end rows/s, each
service's peak RSS and CPU, and the CPU of PostgreSQL and Kafka when they run on this host.
Then it times the floor (one process reading the same file and COPYing it into PostgreSQL) and
the storing stage alone (`store_floor`), and prints their ratios. Not a test: it prints figures
and exits 0.
"""

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import files, host_cpu
from services.api_gateway.mint_token import mint
from services.import_worker.cells import check_cell
from services.import_worker.filetypes import FileLimits
from services.import_worker.readers import check_file, iter_rows
from shared.contracts import IMPORT_WORKER
from shared.db import audit, imports, tenants
from shared.db.pool import create_pool, tenant_transaction
from shared.db.tenants import TENANTS_MAY_MAINTAIN
from shared.kafka import partition_count
from shared.settings import get_settings
from shared.topics import IMPORT_ROWS
from tests.infra import backing_services
from tests.processes import APPS, ServiceProcess, service_env

SECRET = "benchmark-secret-for-this-run-only-0123456789"
LOG_DIR = Path("test-output/bench-logs")


def peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system), in seconds: on a shared machine a
    steadier figure than wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_pipeline(gateway: str, path: Path, rows: int) -> dict[str, float]:
    system = {"Authorization": "Bearer " + mint(sub="bench", role="system_admin")}
    tenant = f"bench-{uuid.uuid4().hex[:8]}"
    admin = {"Authorization": "Bearer " + mint(sub="bench", role="tenant_admin", tenant_id=tenant)}
    async with httpx.AsyncClient(base_url=gateway, timeout=600) as http:
        await http.put(
            f"/api/v1/admin/system-parameters/{TENANTS_MAY_MAINTAIN}",
            json={"value": True},
            headers=system,
        )
        body = {"id": tenant, "name": tenant, "calling_number_anonymization": True}
        (await http.post("/api/v1/admin/tenants", json=body, headers=system)).raise_for_status()
        for org_unit_id, name, parent_id in files.ORG_UNITS:
            unit = {"id": org_unit_id, "name": name, "parent_id": parent_id}
            url = f"/api/v1/admin/tenants/{tenant}/org-units"
            (await http.post(url, json=unit, headers=system)).raise_for_status()

        marks: dict[str, float] = {"start": time.monotonic()}
        with path.open("rb") as file:
            response = await http.post(
                "/api/v1/caller-number-imports", files={"file": (path.name, file)}, headers=admin
            )
        response.raise_for_status()
        marks["uploaded"] = time.monotonic()
        task = await follow(http, admin, response.json()["id"], marks)
        assert task["status"] == "completed", task
        assert task["counters"]["succeeded"] == rows, task["counters"]
        report = await http.get(
            f"/api/v1/caller-number-imports/{task['id']}/result?format={path.suffix[1:]}",
            headers=admin,
        )
        report.raise_for_status()
        marks["report"] = time.monotonic()
        print(f"  report: {len(report.content) / 1024 / 1024:.1f} MB {path.suffix[1:]}")
    return marks


async def follow(
    http: httpx.AsyncClient, headers: dict[str, str], task_id: str, marks: dict[str, float]
) -> Any:
    while True:
        task = (await http.get(f"/api/v1/caller-number-imports/{task_id}", headers=headers)).json()
        counters = task["counters"]
        if "started" not in marks and task["status"] != "pending":
            marks["started"] = time.monotonic()
        if (
            "read" not in marks
            and counters["rows_total"]
            and (counters["rows_read"] >= counters["rows_total"])
        ):
            marks["read"] = time.monotonic()
        if task["status"] in {"completed", "failed", "cancelled"}:
            marks.setdefault("read", time.monotonic())
            marks.setdefault("completed", time.monotonic())
            # The report is offered once stored (a gateway without `report_ready` builds it
            # at download: the stage is then all download).
            if task["status"] == "failed" or task.get("report_ready", True):
                marks["report_ready"] = time.monotonic()
                return task
        await asyncio.sleep(0.1)  # polling the task as a user's page would


def checked_rows(path: Path) -> Iterator[tuple[int, str, str]]:
    """(row number, number, as written) of each row whose cell is a number, as the worker
    reads and checks it."""
    limits = FileLimits()
    for row_number, value in iter_rows(path, check_file(path, limits), limits):
        as_written, number, rejection = check_cell(value)
        if rejection is None:
            yield row_number, number, as_written


async def floor(database_url: str, path: Path) -> tuple[float, int]:
    """One process, no Kafka: read and check the rows, COPY them into a fresh unique table."""
    started = time.monotonic()
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "CREATE TEMP TABLE floor_staging (row_number int, number text);"
            "CREATE TEMP TABLE floor_number (number text PRIMARY KEY)"
        )
        batch: list[tuple[int, str]] = []
        loaded = 0
        for row_number, number, _ in checked_rows(path):
            batch.append((row_number, number))
            if len(batch) == 50_000:
                await conn.copy_records_to_table("floor_staging", records=batch)
                loaded += len(batch)
                batch = []
        await conn.copy_records_to_table("floor_staging", records=batch)
        loaded += len(batch)
        await conn.execute(
            "INSERT INTO floor_number SELECT number FROM floor_staging ON CONFLICT DO NOTHING"
        )
    finally:
        await conn.close()
    return time.monotonic() - started, loaded


# The storing stage's own statements, fed from a staging table instead of a Kafka batch.
_STAGE_ROWS = "CREATE TEMP TABLE store_staging (row_number int, number text, as_written text)"
_STORE_NUMBERS = """
INSERT INTO caller_number (tenant_id, number, description, import_task_id, import_row)
SELECT DISTINCT ON (number) $1, number, '', $2, row_number FROM store_staging
ORDER BY number, row_number
ON CONFLICT (tenant_id, number) DO NOTHING
"""
_STORE_RESULTS = """
INSERT INTO import_row_result (task_id, row_number, number_as_written, succeeded)
SELECT $1, row_number, as_written, true FROM store_staging
"""


async def store_floor(database_url: str, path: Path, *, chunk_rows: int = 50_000) -> float:
    """The storing stage's own floor, in seconds: what PostgreSQL must do to keep the file's rows
    as an import keeps them, and nothing else. The rows are read first (not timed); then, in
    one process with no Kafka and no per-row rules, each chunk is COPYed into a staging table
    and written in one transaction: the numbers into caller_number (its four indexes, checks,
    foreign keys, row security and the audit trigger's record per number) and a result per row
    into import_row_result, as the services' role."""
    rows = list(checked_rows(path))
    tenant, task_id = f"floor-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    pool = await create_pool(database_url, max_size=1)
    try:
        async with tenant_transaction(pool, tenant) as conn:
            await tenants.create_tenant(
                conn, tenant_id=tenant, name=tenant, anonymization=True, isolation=False
            )
            await imports.create_task(
                conn,
                task_id=task_id,
                tenant_id=tenant,
                principal=IMPORT_WORKER.model_dump(mode="json"),
                file_name=path.name,
                idempotency_key=None,
            )
        started = time.monotonic()
        for start in range(0, len(rows), chunk_rows):
            async with tenant_transaction(pool, tenant) as conn:
                if start == 0:
                    await conn.execute(_STAGE_ROWS)
                else:
                    await conn.execute("TRUNCATE store_staging")
                await audit.set_actor(conn, principal=IMPORT_WORKER)
                records = rows[start : start + chunk_rows]
                await conn.copy_records_to_table("store_staging", records=records)
                await conn.execute(_STORE_NUMBERS, tenant, task_id)
                await conn.execute(_STORE_RESULTS, task_id)
        return time.monotonic() - started
    finally:
        await pool.close()


# What an import leaves in PostgreSQL: the numbers, their per-row results, the task, the file
# and the stored report.
IMPORT_TABLES = (
    "caller_number",
    "import_row_result",
    "import_task",
    "import_file_chunk",
    "import_report_chunk",
)


async def table_bytes(database_owner_url: str) -> dict[str, int]:
    """Each import table's size on disk with its indexes and TOAST, in bytes (0 if absent)."""
    conn = await asyncpg.connect(database_owner_url)
    try:
        return {
            table: await conn.fetchval(
                "SELECT coalesce(pg_total_relation_size(to_regclass($1)), 0)", table
            )
            for table in IMPORT_TABLES
        }
    finally:
        await conn.close()


def print_bytes_per_row(rows: int, before: dict[str, int], after: dict[str, int]) -> None:
    grown = {table: after[table] - before[table] for table in IMPORT_TABLES}
    parts = ", ".join(f"{table} {size / rows:,.0f}" for table, size in grown.items())
    print(f"  database bytes per imported row     {sum(grown.values()) / rows:7,.0f} B  ({parts})")


def print_figures(rows: int, path: Path, marks: dict[str, float], rss: dict[str, float]) -> None:
    def stage(name: str, start: str, end: str) -> None:
        seconds = marks[end] - marks[start]
        print(f"  {name:<34} {seconds:7.2f} s  {rows / seconds:>10,.0f} rows/s")

    size = path.stat().st_size / 1024 / 1024
    print(f"\n{rows:,} rows, {path.suffix[1:]} ({size:.1f} MB)")
    stage("upload (202 answered)", "start", "uploaded")
    stage("reading and sending (202 -> read)", "uploaded", "read")
    stage("applying and recording (-> final)", "read", "completed")
    stage("report (final -> downloaded)", "completed", "report")
    stage("  of which writing (-> offered)", "completed", "report_ready")
    stage("  of which download", "report_ready", "report")
    stage("END TO END: upload -> report", "start", "report")
    for name, megabytes in rss.items():
        print(f"  peak RSS {name:<25} {megabytes:7.1f} MB")


def backing_cpu_seconds(postmaster: int | None, broker: int | None) -> dict[str, float]:
    """CPU seconds so far of PostgreSQL and the Kafka broker, those that run on this host."""
    seconds = {}
    if postmaster is not None:
        seconds["PostgreSQL (all its processes)"] = host_cpu.postgres_cpu(postmaster)
    if broker is not None:
        seconds["Kafka broker"] = host_cpu.process_cpu(broker)
    return seconds


def instances(
    env: dict[str, str], *, registries: int, workers: int, partitions: int
) -> dict[str, ServiceProcess]:
    """One gateway, and `registries` and `workers` instances in their consumer groups. The
    registries share the rows topic's partitions: as many consumers in all as partitions."""
    counts = {"api_gateway": 1, "number_registry": registries, "import_worker": workers}
    running = {}
    for name in APPS:
        for n in range(1, counts[name] + 1):
            log_dir = LOG_DIR if n == 1 else LOG_DIR / str(n)  # logs named by service
            log_dir.mkdir(parents=True, exist_ok=True)
            own = dict(env)
            if name == "number_registry":
                share = partitions // registries + (n <= partitions % registries)
                own["IMPORT_ROWS_CONSUMERS"] = str(max(1, share))
            running[name if n == 1 else f"{name}-{n}"] = ServiceProcess(name, own, log_dir)
    return running


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--ou-column", action="store_true", help="fill the OU column (xlsx)")
    parser.add_argument("--registries", type=int, default=1, help="number_registry instances")
    parser.add_argument("--workers", type=int, default=1, help="import_worker instances")
    args = parser.parse_args()
    if args.ou_column:
        path = files.xlsx_with_ou(args.rows)
    else:
        path = files.xlsx(args.rows) if args.format == "xlsx" else files.csv(args.rows)
    with backing_services() as backing:
        env = service_env(backing, secret=SECRET)
        # The services create the topics at their first start, with the settings' count.
        partitions = await partition_count(backing.settings(), IMPORT_ROWS)
        partitions = partitions or backing.settings().kafka_topic_partitions
        running = instances(
            env, registries=args.registries, workers=args.workers, partitions=partitions
        )
        try:
            for process in running.values():
                process.start()
            if args.registries > 1 or args.workers > 1:
                print(f"  {args.registries} registries, {args.workers} workers", end="")
                print(f" ({partitions} partitions)")
            before = await table_bytes(backing.database_owner_url)
            postmaster = await host_cpu.postmaster_pid(backing.database_owner_url)
            broker = host_cpu.listener_pid(int(backing.kafka.split(",")[0].rsplit(":", 1)[1]))
            backing_cpu = backing_cpu_seconds(postmaster, broker)
            marks = await run_pipeline(running["api_gateway"].url, path, args.rows)
            backing_cpu = {
                name: seconds - backing_cpu[name]
                for name, seconds in backing_cpu_seconds(postmaster, broker).items()
            }
            after = await table_bytes(backing.database_owner_url)
            rss = {
                name: peak_rss_mb(process.process.pid)
                for name, process in running.items()
                if process.process is not None
            }
            cpu = {
                name: cpu_seconds(process.process.pid)
                for name, process in running.items()
                if process.process is not None
            }
        finally:
            for process in running.values():
                process.stop()
        print_figures(args.rows, path, marks, rss)
        for name, seconds in {**cpu, **backing_cpu}.items():
            print(f"  CPU {name:<30} {seconds:7.2f} s  {seconds * 1e6 / args.rows:7.1f} µs/row")
        pipeline = marks["report"] - marks["start"]
        if backing_cpu:
            # The services' CPU counts from their start, a little before the upload.
            used = sum(cpu.values()) + sum(backing_cpu.values())
            cores = os.cpu_count() or 1
            print(
                f"  CPU in all / ({cores} cores x end to end) {used:5.1f} / {cores * pipeline:.1f}"
                f" core-seconds ({used / (cores * pipeline):.0%})"
            )
        print_bytes_per_row(args.rows, before, after)
        seconds, loaded = await floor(backing.database_owner_url, path)
        rate = loaded / seconds
        print(f"  floor: read + COPY in one process {seconds:7.2f} s  {rate:>10,.0f} rows/s")
        print(f"  pipeline / floor                   {pipeline / seconds:7.2f}x")
        stored = await store_floor(backing.database_url, path)
        rate = loaded / stored
        print(f"  storing alone (no Kafka, no rules) {stored:7.2f} s  {rate:>10,.0f} rows/s")
        print(f"  storing alone / floor              {stored / seconds:7.2f}x")
        print(f"  load average (1, 5, 15 min)        {os.getloadavg()}")


if __name__ == "__main__":
    os.environ["AUTH_JWT_SECRET"] = SECRET
    get_settings.cache_clear()  # tokens are signed with the services' secret
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    asyncio.run(main())
