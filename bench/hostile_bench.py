"""The hostile-client figures: H1 (slow senders) and M2 (a 70 MB unauthenticated body).

    .venv/bin/python -m bench.hostile_bench                   # this checkout
    .venv/bin/python -m bench.hostile_bench --source DIR [--app M:app]   # another checkout

Runs the gateway of `--source` on the local Kafka and PostgreSQL (as the tests find them) and:
- H1: 4 uploads from tenant A trickle their body at `--seconds-per-byte`; then tenant B sends a
  small upload at once. Prints how long B waited and what A's uploads got.
- M2: a 70 MB JSON body without a token, then the gateway's RSS before and after.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from services.api_gateway.mint_token import mint
from shared.db.tenants import TENANTS_MAY_MAINTAIN
from shared.settings import get_settings
from tests import hostile
from tests.infra import ROOT, backing_services
from tests.processes import free_port, service_env
from tests.waiting import deadline

# The gateway's app factory; for a checkout from before `create_app`, pass
# `--app services.api_gateway.main:app` (an app object, not a factory).
APP = "services.api_gateway.main:create_app"
SECRET = "bench-secret-for-the-hostile-bench-0123456789"
MiB = 1024 * 1024


async def _tenant(client: httpx.AsyncClient, system: dict[str, str], name: str) -> str:
    tenant = f"{name}-{os.urandom(4).hex()}"
    body = {"id": tenant, "name": tenant, "calling_number_anonymization": True}
    response = await client.post("/api/v1/admin/tenants", json=body, headers=system)
    assert response.status_code == 201, response.text
    return tenant


async def h1(url: str, port: int, seconds_per_byte: float) -> None:
    system = {"Authorization": "Bearer " + mint(sub="root", role="system_admin")}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await client.put(
            f"/api/v1/admin/system-parameters/{TENANTS_MAY_MAINTAIN}",
            json={"value": True},
            headers=system,
        )
        tenant_a, tenant_b = await _tenant(client, system, "a"), await _tenant(client, system, "b")
    token_a = mint(sub="a", role="tenant_admin", tenant_id=tenant_a)
    token_b = mint(sub="b", role="tenant_admin", tenant_id=tenant_b)
    slow = [
        asyncio.ensure_future(hostile.slow_upload(port, token_a, seconds_per_byte=seconds_per_byte))
        for _ in range(4)
    ]
    await asyncio.sleep(3 * seconds_per_byte + 1)  # the slow senders' head start
    other = await hostile.quick_upload(port, token_b)
    answers = await asyncio.gather(*slow)
    body = len(hostile.upload_body())
    print(f"H1: 4 uploads from A at {seconds_per_byte} s/byte ({body}-byte bodies)")
    print(f"    tenant B's {body}-byte upload: {other.status} after {other.seconds:.2f} s")
    print("    A's uploads: " + ", ".join(f"{a.status} after {a.seconds:.1f} s" for a in answers))


async def m2(url: str, pid: int) -> None:
    before = hostile.rss_mb(pid)

    async def body() -> object:
        for _ in range(70):
            yield b" " * MiB

    headers = {"Content-Type": "application/json", "Content-Length": str(70 * MiB)}
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        try:
            response = await client.post("/api/v1/caller-numbers", content=body(), headers=headers)
            status = response.status_code
        except httpx.TransportError as error:
            status = f"connection closed ({type(error).__name__})"  # type: ignore[assignment]
    seconds = time.monotonic() - started
    print(f"M2: 70 MB JSON body without a token: {status} after {seconds:.2f} s")
    print(f"    gateway RSS {before:.0f} MB before, {hostile.rss_mb(pid):.0f} MB after")


async def measure(url: str, port: int, pid: int, seconds_per_byte: float) -> None:
    async with httpx.AsyncClient() as client:
        async for _ in deadline(60, every=0.2):
            try:
                if (await client.get(url + "/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
    await m2(url, pid)
    await h1(url, port, seconds_per_byte)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("--seconds-per-byte", type=float, default=0.2)
    parser.add_argument("--app", default=APP, help="the gateway's factory (or :app object)")
    args = parser.parse_args()
    with backing_services() as backing:
        port = free_port()
        env = {**service_env(backing, secret=SECRET), "PYTHONPATH": str(args.source)}
        factory = [] if args.app.endswith(":app") else ["--factory"]
        command = [sys.executable, "-m", "uvicorn", *factory, args.app]
        gateway = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=args.source,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        print(f"gateway from {args.source}")
        try:
            asyncio.run(
                measure(f"http://127.0.0.1:{port}", port, gateway.pid, args.seconds_per_byte)
            )
        finally:
            gateway.terminate()
            gateway.wait(20)


if __name__ == "__main__":
    os.environ["AUTH_JWT_SECRET"] = SECRET
    get_settings.cache_clear()  # tokens are signed with the gateway's secret
    main()
