"""The integration layer: the services' code in this process on the real PostgreSQL, in a
database of its own (created for the session, dropped after), and FastStream's TestKafkaBroker
in place of Kafka for handler wiring."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import pytest
import pytest_asyncio
from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.import_worker.main import create_app as create_worker
from services.import_worker.progress import Progress
from shared import topics
from shared.contracts import Principal, Role
from shared.db import tenants
from shared.db.pool import open_pool, tenant_transaction
from shared.settings import Settings
from tests.factories import unique
from tests.infra import Backing

SERVICE = Principal(sub="upstream-crm", role=Role.SERVICE)


def _in_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest_asyncio.fixture(scope="session")
async def settings(backing: Backing) -> AsyncIterator[Settings]:
    """Settings whose database is a throwaway one, migrated when the pool opens."""
    name = f"caller_numbers_it_{uuid4().hex[:12]}"
    owner = await asyncpg.connect(backing.database_owner_url)
    await owner.execute(f'CREATE DATABASE "{name}"')
    try:
        yield backing.settings(
            database_url=_in_database(backing.database_url, name),
            database_owner_url=_in_database(backing.database_owner_url, name),
            max_delivery_attempts=3,
        )
    finally:
        await owner.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await owner.close()


@pytest_asyncio.fixture(scope="session")
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """The services' pool (registry_app, bound by row-level security), as a service opens it."""
    async with open_pool(settings) as opened:
        yield opened


@pytest_asyncio.fixture
async def tenant(pool: asyncpg.Pool) -> str:
    """A tenant allowed to maintain numbers, with the OUs `sales` and `support`."""
    return await new_tenant(pool)


async def new_tenant(pool: asyncpg.Pool) -> str:
    """The `tenant` fixture's kind of tenant, for a test that needs more than one."""
    tenant_id = unique("tenant")
    async with tenant_transaction(pool, tenant_id) as conn:
        await tenants.set_system_parameter(conn, name=tenants.TENANTS_MAY_MAINTAIN, value=True)
        await tenants.create_tenant(
            conn, tenant_id=tenant_id, name=tenant_id, anonymization=True, isolation=False
        )
        for org_unit_id in ("sales", "support"):
            await tenants.add_org_unit(
                conn, tenant_id=tenant_id, org_unit_id=org_unit_id, name=org_unit_id, parent_id=None
            )
    return tenant_id


@pytest.fixture
def service() -> Principal:
    return SERVICE


Seen = dict[str, list[dict[str, Any]]]


def listen(broker: KafkaBroker, *names: str) -> Seen:
    """What is published to these topics, gathered by subscribers added for the test."""
    seen: Seen = {name: [] for name in names}
    for name in names:
        broker.subscriber(name)(_gatherer(seen[name]))
    return seen


def _gatherer(into: list[dict[str, Any]]) -> Callable[[dict[str, Any]], Awaitable[None]]:
    async def gather(message: dict[str, Any]) -> None:
        into.append(message)

    return gather


@pytest_asyncio.fixture
async def worker(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[tuple[KafkaBroker, Seen]]:
    broker = create_worker(settings).broker
    assert broker is not None
    events = broker.publisher(topics.IMPORT_EVENTS)
    broker.context.set_global("progress", Progress(pool=pool, publisher=events, min_interval=0))
    seen = listen(broker, topics.IMPORT_EVENTS)
    async with TestKafkaBroker(broker) as testing:
        yield testing, seen
