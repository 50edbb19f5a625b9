"""What every service opens at start: its topics, and a migrated database with a pool."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from shared.db.pool import open_pool
from shared.kafka import ensure_topics
from shared.settings import Settings


@asynccontextmanager
async def backing_services(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    settings.refuse_development_secrets()  # before anything connects with them
    await ensure_topics(settings)
    async with open_pool(settings) as pool:
        yield pool
