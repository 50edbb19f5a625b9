"""Applies the SQL files in migrations/ once each, in order: `python -m shared.db.migrate`."""

import asyncio
from pathlib import Path

import asyncpg

from shared.db import Connection
from shared.settings import get_settings

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: it serialises services that start at the same time.
_LOCK_ID = 7_312_025


async def migrate(conn: Connection) -> list[str]:
    """Apply what is missing; returns the versions applied now."""
    applied_now = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migration "
            "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migration")}
        for path in sorted(MIGRATIONS.glob("*.sql")):
            if path.stem not in done:
                await conn.execute(path.read_text())
                await conn.execute("INSERT INTO schema_migration (version) VALUES ($1)", path.stem)
                applied_now.append(path.stem)
    return applied_now


async def _main() -> None:
    conn = await asyncpg.connect(get_settings().database_owner_url)
    try:
        applied = await migrate(conn)
        print("applied:", ", ".join(applied) if applied else "nothing, the schema is current")
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(_main())
