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
        env={**os.environ, **backing.env(), "KAFKA_BOOTSTRAP_SERVERS": "unused:9"},
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
