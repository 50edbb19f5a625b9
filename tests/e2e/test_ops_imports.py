"""`python -m ops.imports list --json`: the imports as the events topic tells them."""

import asyncio
import json
import os
import sys

import httpx

from tests import factories as f
from tests import files
from tests.e2e.test_imports import finished, upload
from tests.infra import ROOT, Backing


async def ops_imports(backing: Backing, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ops.imports",
        *args,
        cwd=ROOT,
        # As the operators' principal, which may read the import events and nothing else.
        env={
            **os.environ,
            **backing.env(),
            **backing.principal_env("operator"),
            "KAFKA_BOOTSTRAP_SERVERS": "unused:9",
        },
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    return output.decode()


async def test_a_finished_import_is_listed_with_its_counters(
    backing: Backing, http: httpx.AsyncClient
) -> None:
    tenant = await f.create_tenant(http)
    admin = f.tenant_admin(tenant)
    task = await upload(http, admin, files.xlsx(["0788000001", "0788000002", "07x"]))
    done = await finished(http, admin, task["id"])

    output = await ops_imports(backing, "list", "--json", "--bootstrap-servers", backing.kafka)
    listed = json.loads(output)
    [mine] = [t for t in listed if t["task_id"] == task["id"]]
    assert mine["tenant_id"] == tenant and mine["status"] == "completed"
    assert mine["counters"] == done["counters"]
    assert mine["rows_per_second"] is not None and mine["eta_seconds"] is None


async def test_watch_into_a_pipe_prints_a_json_line_per_change_until_the_import_ends(
    backing: Backing, http: httpx.AsyncClient
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ops.imports",
        "watch",
        "--bootstrap-servers",
        backing.kafka,
        cwd=ROOT,
        env={**os.environ, **backing.env()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:  # once it follows the topic, the import cannot be over before it looks
        following = await asyncio.wait_for(process.stderr.readline(), 60)
        assert following.startswith(b"Following caller-number-imports.events.v1")
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        task = await upload(http, admin, files.xlsx(["0788000001", "07x"]))
        done = await finished(http, admin, task["id"])

        async def until_it_ends() -> dict[str, object]:
            assert process.stdout is not None
            while line := await process.stdout.readline():
                view = json.loads(line)
                if view["task_id"] == task["id"] and view["status"] == "completed":
                    return dict(view)
            raise AssertionError("watch stopped before the import ended")

        last = await asyncio.wait_for(until_it_ends(), 60)
        assert last["counters"] == done["counters"]
    finally:
        process.kill()
        await process.wait()


async def test_kafka_out_of_reach_is_one_clear_line_not_a_traceback(backing: Backing) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ops.imports",
        "list",
        "--bootstrap-servers",
        "127.0.0.1:1",
        cwd=ROOT,
        env={**os.environ, **backing.env()},
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "Cannot read caller-number-imports.events.v1 from Kafka at 127.0.0.1:1" in error.decode()
    assert "Traceback" not in error.decode()
