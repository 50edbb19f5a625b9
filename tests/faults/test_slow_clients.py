"""Slow senders: one tenant's trickling uploads neither hold up another tenant nor last forever."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.api_gateway.limits import TenantSlots
from services.api_gateway.mint_token import mint
from shared.db.tenants import TENANTS_MAY_MAINTAIN
from tests import factories as f
from tests import hostile
from tests.faults.cluster import Cluster
from tests.waiting import deadline

pytestmark = pytest.mark.faults
IDLE, TOTAL = 2.0, 8.0


@pytest_asyncio.fixture
async def gateway_port(cluster: Cluster) -> AsyncIterator[tuple[int, httpx.AsyncClient]]:
    """A gateway with short body timeouts: its port, and a client of it."""
    process = cluster.start(
        "api_gateway",
        HTTP_BODY_IDLE_TIMEOUT_SECONDS=str(IDLE),
        HTTP_BODY_TOTAL_TIMEOUT_SECONDS=str(TOTAL),
    )
    async with httpx.AsyncClient(base_url=process.url, timeout=60) as client:
        response = await client.put(
            f"/api/v1/admin/system-parameters/{TENANTS_MAY_MAINTAIN}",
            json={"value": True},
            headers={"Authorization": "Bearer " + mint(sub="root", role="system_admin")},
        )
        assert response.status_code == 200, response.text
        yield process.port, client


def _token(tenant: str) -> str:
    return mint(sub=f.unique("admin"), role="tenant_admin", tenant_id=tenant)


async def test_four_slow_uploads_of_one_tenant_do_not_hold_up_another_tenants_upload(
    gateway_port: tuple[int, httpx.AsyncClient],
) -> None:
    port, client = gateway_port
    tenant_a, tenant_b = await f.create_tenant(client), await f.create_tenant(client)
    slow = [
        asyncio.ensure_future(hostile.slow_upload(port, _token(tenant_a), seconds_per_byte=0.25))
        for _ in range(4)
    ]
    async for _ in deadline(10):  # the two beyond the tenant's limit are turned away
        if sum(task.done() for task in slow) == 2:
            break
    other = await hostile.quick_upload(port, _token(tenant_b))
    print(f"\nH1: tenant B's small upload with 4 slow senders from A: {other.seconds:.2f} s")
    assert other.status == 202 and other.seconds < 2.0
    answers = await asyncio.gather(*slow)
    refused = [a for a in answers if a.status == 429]
    cut = [a for a in answers if a.status == 408]
    assert len(refused) == 2 and len(cut) == 2  # beyond the limit: 429; the others: timed out
    assert all(TOTAL - 1 < a.seconds < TOTAL + 5 for a in cut)


async def test_an_upload_beyond_the_tenants_limit_is_429_with_retry_after(
    gateway_port: tuple[int, httpx.AsyncClient],
) -> None:
    port, client = gateway_port
    token = _token(await f.create_tenant(client))
    slow = [
        asyncio.ensure_future(hostile.slow_upload(port, token, seconds_per_byte=0.5))
        for _ in range(3)
    ]
    try:
        done, _ = await asyncio.wait(slow, timeout=TOTAL - 2, return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1
        refused = done.pop().result()
        assert refused.status == 429 and refused.seconds < 2
        assert refused.headers["retry-after"] == str(TenantSlots.RETRY_AFTER_SECONDS)
    finally:
        for task in slow:
            task.cancel()


async def test_an_upload_that_stops_sending_is_answered_408_after_the_idle_time(
    gateway_port: tuple[int, httpx.AsyncClient],
) -> None:
    port, client = gateway_port
    token = _token(await f.create_tenant(client))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        body = hostile.upload_body()
        writer.write(hostile.upload_head(token, len(body)) + body[:10])  # and then nothing
        loop = asyncio.get_running_loop()
        started = loop.time()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        assert int(status_line.split()[1]) == 408
        assert IDLE - 0.5 < loop.time() - started < IDLE + 3
    finally:
        writer.close()
