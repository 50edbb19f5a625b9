"""The uploaded file, copied from PostgreSQL to a local temporary file for reading."""

from pathlib import Path
from uuid import UUID

import asyncpg

from shared.db import imports
from shared.db.pool import tenant_transaction


async def download(pool: asyncpg.Pool, *, tenant_id: str, task_id: UUID, path: Path) -> None:
    """Write the task's file to `path` chunk by chunk."""
    with path.open("wb") as out:
        async with tenant_transaction(pool, tenant_id) as conn:
            async for chunk in imports.file_chunks(conn, task_id=task_id):
                out.write(chunk)
