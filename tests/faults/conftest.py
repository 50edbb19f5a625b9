"""Fault-injection fixtures: each test gets its own service processes to kill."""

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from services.api_gateway.mint_token import mint
from shared import topics
from shared.db.tenants import TENANTS_MAY_MAINTAIN
from tests.faults.cluster import Cluster
from tests.infra import ROOT, Backing
from tests.kafka import TopicTap, tap
from tests.processes import CLIENT_LIMITS, service_env


@pytest.fixture
def cluster(backing: Backing) -> Iterator[Cluster]:
    log_dir = ROOT / "test-output" / "fault-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    running = Cluster(service_env(backing, secret=os.environ["AUTH_JWT_SECRET"]), log_dir)
    try:
        yield running
    finally:
        running.stop_all()


@pytest_asyncio.fixture
async def gateway(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    """A client of this test's gateway, with tenants allowed to maintain numbers."""
    cluster.start("api_gateway")
    async with httpx.AsyncClient(
        base_url=cluster.url("api_gateway"), timeout=60, limits=CLIENT_LIMITS
    ) as client:
        response = await client.put(
            f"/api/v1/admin/system-parameters/{TENANTS_MAY_MAINTAIN}",
            json={"value": True},
            headers={"Authorization": "Bearer " + mint(sub="root", role="system_admin")},
        )
        assert response.status_code == 200, response.text
        yield client


@pytest_asyncio.fixture
async def fault_events(backing: Backing, producer: AIOKafkaProducer) -> AsyncIterator[TopicTap]:
    async with tap(backing.settings(), topics.CALLER_NUMBER_EVENTS, producer) as opened:
        yield opened


@pytest_asyncio.fixture
async def fault_dead_letters(
    backing: Backing, producer: AIOKafkaProducer
) -> AsyncIterator[TopicTap]:
    topic = topics.dead_letter_topic(topics.CALLER_NUMBER_COMMANDS)
    async with tap(backing.settings(), topic, producer) as opened:
        yield opened
