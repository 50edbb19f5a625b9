"""Processed commands and their outcomes: what makes a redelivered command a no-op."""

from typing import Any
from uuid import UUID

from shared.db import Connection, queries


async def claim(
    conn: Connection,
    *,
    tenant_id: str,
    command_id: UUID,
    command_type: str,
    principal_sub: str,
) -> bool:
    """True if this command is new; False if it was processed before (or is being processed)."""
    claimed = await conn.fetchval(
        queries.CLAIM_COMMAND, tenant_id, command_id, command_type, principal_sub
    )
    return claimed is not None


async def save_outcome(
    conn: Connection, *, tenant_id: str, command_id: UUID, outcome: list[dict[str, Any]]
) -> None:
    await conn.execute(queries.SAVE_COMMAND_OUTCOME, tenant_id, command_id, outcome)
    await conn.execute(queries.NOTIFY_COMMAND_PROCESSED, f"{tenant_id}/{command_id}")


async def get_outcome(
    conn: Connection, *, tenant_id: str, command_id: UUID
) -> list[dict[str, Any]] | None:
    row = await conn.fetchrow(queries.SELECT_COMMAND_OUTCOME, tenant_id, command_id)
    return None if row is None else list(row["outcome"])
