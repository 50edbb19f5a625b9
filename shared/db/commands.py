"""Processed commands and their outcomes: what makes a redelivered command a no-op."""

from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from shared.db import Connection, queries


class StoredOutcome(NamedTuple):
    results: list[dict[str, Any]]
    processed_at: datetime


async def claim(
    conn: Connection,
    *,
    tenant_id: str,
    command_id: UUID,
    command_type: str,
    principal_sub: str,
) -> datetime | None:
    """When it is processed, if this command is new; None if it was processed before."""
    processed_at: datetime | None = await conn.fetchval(
        queries.CLAIM_COMMAND, tenant_id, command_id, command_type, principal_sub
    )
    return processed_at


async def save_outcome(
    conn: Connection, *, tenant_id: str, command_id: UUID, outcome: list[dict[str, Any]]
) -> None:
    await conn.execute(queries.SAVE_COMMAND_OUTCOME, tenant_id, command_id, outcome)
    await conn.execute(queries.NOTIFY_COMMAND_PROCESSED, f"{tenant_id}/{command_id}")


async def get_outcome(
    conn: Connection, *, tenant_id: str, command_id: UUID
) -> StoredOutcome | None:
    row = await conn.fetchrow(queries.SELECT_COMMAND_OUTCOME, tenant_id, command_id)
    return None if row is None else StoredOutcome(list(row["outcome"]), row["processed_at"])
