"""Session fixtures on real services: Kafka, PostgreSQL and the three services as processes."""

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, settings

from services.api_gateway.mint_token import mint
from shared import topics
from shared.db.pool import create_pool
from shared.db.tenants import TENANTS_MAY_MAINTAIN
from shared.kafka import client_options
from shared.settings import get_settings
from shared.signing.keyfiles import dev_keys
from tests.infra import KEYS_DIR, ROOT, Backing, backing_services
from tests.kafka import TopicTap, tap
from tests.processes import APPS, CLIENT_LIMITS, TEST_LIMITS, ServiceProcess, service_env

# The test services' secret (service_env), which mint() signs the tests' tokens with.
os.environ["AUTH_JWT_SECRET"] = "test-secret-for-the-test-session-only-0123456789"
# The test services' command keys (tests/signing.py), for the apps tests build in this process.
os.environ.update(dev_keys(KEYS_DIR))
get_settings.cache_clear()

OUTPUT = ROOT / "test-output"

# Hypothesis profiles for every layer: few examples by default so the tests stay fast; more on
# demand. HYPOTHESIS_PROFILE=thorough runs 500 examples per property (a nightly, or a change
# to the reader or the import task).
settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def backing() -> Iterator[Backing]:
    with backing_services() as services:
        yield services


@pytest.fixture(scope="session")
def services(backing: Backing) -> Iterator[dict[str, ServiceProcess]]:
    log_dir = OUTPUT / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**service_env(backing, secret=os.environ["AUTH_JWT_SECRET"]), **TEST_LIMITS}
    running = {name: ServiceProcess(name, env, log_dir) for name in APPS}
    try:
        for process in running.values():
            process.start()
        yield running
    finally:
        for process in running.values():
            process.stop()


@pytest_asyncio.fixture(scope="session")
async def http(services: dict[str, ServiceProcess]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=services["api_gateway"].url, timeout=60, limits=CLIENT_LIMITS
    ) as client:
        headers = {"Authorization": "Bearer " + mint(sub="root", role="system_admin")}
        response = await client.put(
            f"/api/v1/admin/system-parameters/{TENANTS_MAY_MAINTAIN}",
            json={"value": True},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        yield client


@pytest_asyncio.fixture(scope="session")
async def db(backing: Backing) -> AsyncIterator[asyncpg.Pool]:
    """The schema owner's pool; row-level security still applies: see `as_tenant`."""
    pool = await create_pool(backing.database_owner_url)
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="session")
async def producer(backing: Backing) -> AsyncIterator[AIOKafkaProducer]:
    """A plain aiokafka producer, as an upstream system would use."""
    producer = AIOKafkaProducer(
        **client_options(backing.settings()), acks="all", enable_idempotence=True
    )
    await producer.start()
    yield producer
    await producer.stop()


@pytest_asyncio.fixture
async def events(
    backing: Backing, http: httpx.AsyncClient, producer: AIOKafkaProducer
) -> AsyncIterator[TopicTap]:
    async with tap(backing.settings(), topics.CALLER_NUMBER_EVENTS, producer) as opened:
        yield opened


@pytest_asyncio.fixture
async def dead_letters(
    backing: Backing, http: httpx.AsyncClient, producer: AIOKafkaProducer
) -> AsyncIterator[TopicTap]:
    topic = topics.dead_letter_topic(topics.CALLER_NUMBER_COMMANDS)
    async with tap(backing.settings(), topic, producer) as opened:
        yield opened
