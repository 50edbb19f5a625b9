"""The asyncpg pool every service uses, and the transactions that say whose data they touch."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson

from shared.db import Connection
from shared.db.migrate import migrate
from shared.settings import Settings


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset when a connection returns to the pool: settings are only ever set
    transaction-local (set_config(..., true)), advisory locks are transaction-level, and
    nothing LISTENs on a pooled connection. asyncpg still rolls back a transaction left open.
    Its default reset (UNLISTEN *, RESET ALL, ...) would cost a round trip per transaction."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, reset=_keep_session
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def open_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """Migrate as the schema's owner, then a pool as the application role, for a lifespan."""
    owner = await asyncpg.connect(settings.database_owner_url)
    try:
        await migrate(owner)
    finally:
        await owner.close()
    pool = await create_pool(
        settings.database_url,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
    )
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def tenant_transaction(pool: asyncpg.Pool, tenant_id: str) -> AsyncIterator[Connection]:
    """A transaction that sees and writes one tenant's rows only (row-level security)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
        yield conn


@asynccontextmanager
async def takeover_transaction(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """The import workers' one cross-tenant read: tasks whose reader is gone (import_task only)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.import_takeover', 'on', true)")
        yield conn


@asynccontextmanager
async def audit_retention_transaction(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """Deletes old audit records of every tenant (caller_number_audit only, by its policy)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.audit_retention', 'on', true)")
        yield conn
