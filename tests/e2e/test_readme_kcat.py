"""The README's kcat example, run as written against the test's Kafka and a fresh tenant."""

import asyncio
import json
import os
import re
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from tests import factories as f
from tests.infra import KEYS_DIR, ROOT, Backing

SETTINGS_LINE = "KAFKA=127.0.0.1:9092 TENANT=acme KEYS=/var/tmp/caller-number-registry/app/keys"
CREDENTIALS = "/var/tmp/caller-number-registry/kafka/credentials/"


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- kcat-example -->\s*```bash\n(.*?)```", readme, re.S)
    assert found, "README.md lost its kcat example (after <!-- kcat-example -->)"
    assert SETTINGS_LINE in found.group(1) and CREDENTIALS in found.group(1)
    return found.group(1)


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed")
async def test_the_readme_kcat_example_creates_a_number_and_reads_its_event(
    backing: Backing, http: httpx.AsyncClient
) -> None:
    tenant = await f.create_tenant(http)
    credentials = backing.env().get("KAFKA_CREDENTIALS_DIR")
    assert credentials, "the README's example signs in: the test's broker must take credentials"
    settings = f"KAFKA={backing.kafka} TENANT={tenant} KEYS={KEYS_DIR}"  # the tests' crm key
    script = (
        readme_example().replace(SETTINGS_LINE, settings).replace(CREDENTIALS, credentials + "/")
    )
    # As the README runs it: in the repository, with the project's Python first on the PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-euo",
        "pipefail",
        "-c",
        script,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PATH": path},
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    [event] = [json.loads(line) for line in output.decode().splitlines()]
    assert event["type"] == "created" and event["tenant_id"] == tenant
    assert event["caller_number"]["number"] == "02150009999"
