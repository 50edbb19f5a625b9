"""Commands and their outcomes: pending once sent, then processed, which makes a redelivered
command a no-op."""

from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson

from shared.db import Connection, queries


class StoredOutcome(NamedTuple):
    results: list[dict[str, Any]]
    processed_at: datetime


class KnownCommand(NamedTuple):
    principal_sub: str
    outcome: StoredOutcome | None  # None while pending


async def record_pending(
    conn: Connection, *, tenant_id: str, command_id: UUID, command_type: str, principal_sub: str
) -> None:
    """Known from now on as pending: recorded before the command is published."""
    await conn.execute(
        queries.INSERT_PENDING_COMMAND, tenant_id, command_id, command_type, principal_sub
    )


async def forget_pending(conn: Connection, *, tenant_id: str, command_id: UUID) -> None:
    """The command could not be published after all: it was never sent."""
    await conn.execute(queries.DELETE_PENDING_COMMAND, tenant_id, command_id)


async def record_unsent(
    conn: Connection,
    *,
    tenant_id: str,
    command_id: UUID,
    command_type: str,
    principal_sub: str,
    outcome: list[dict[str, Any]],
) -> None:
    """Stores the outcome of a command that could not be published, unless the registry
    processed it first; the registry will not apply it later (it is processed)."""
    await conn.execute(
        queries.INSERT_UNSENT_COMMAND, tenant_id, command_id, command_type, principal_sub, outcome
    )


async def claim(
    conn: Connection,
    *,
    tenant_id: str,
    command_id: UUID,
    command_type: str,
    principal_sub: str,
) -> datetime | None:
    """When it is processed, if this command is new or pending; None if processed before."""
    processed_at: datetime | None = await conn.fetchval(
        queries.CLAIM_COMMAND, tenant_id, command_id, command_type, principal_sub
    )
    return processed_at


async def save_outcome(
    conn: Connection, *, tenant_id: str, command_id: UUID, outcome: list[dict[str, Any]]
) -> None:
    """The claimed command's outcome, and its NOTIFY (delivered on commit)."""
    await save_outcomes(conn, tenant_id=tenant_id, outcomes={command_id: outcome})


class Claim(NamedTuple):
    command_id: UUID
    command_type: str
    principal_sub: str


async def claim_many(
    conn: Connection, *, tenant_id: str, claims: list[Claim]
) -> dict[UUID, datetime]:
    """`claim` for many commands in one statement (no command id twice): when each new or
    pending one is processed; those processed before are left out."""
    rows = await conn.fetch(
        queries.CLAIM_COMMANDS,
        tenant_id,
        [c.command_id for c in claims],
        [c.command_type for c in claims],
        [c.principal_sub for c in claims],
    )
    return {row["command_id"]: row["processed_at"] for row in rows}


async def get_outcomes(
    conn: Connection, *, tenant_id: str, command_ids: list[UUID]
) -> dict[UUID, StoredOutcome]:
    """The stored outcomes of these commands; those pending or unknown are left out."""
    rows = await conn.fetch(queries.SELECT_COMMAND_OUTCOMES, tenant_id, command_ids)
    return {
        row["command_id"]: StoredOutcome(list(row["outcome"]), row["processed_at"])
        for row in rows
        if row["outcome"] is not None
    }


async def save_outcomes(
    conn: Connection, *, tenant_id: str, outcomes: dict[UUID, list[dict[str, Any]]]
) -> None:
    """`save_outcome` for many claimed commands in one statement, each with its NOTIFY."""
    await conn.fetchval(
        queries.SAVE_COMMAND_OUTCOMES,
        tenant_id,
        list(outcomes),
        [orjson.dumps(outcome).decode() for outcome in outcomes.values()],
    )


async def lookup(conn: Connection, *, tenant_id: str, command_id: UUID) -> KnownCommand | None:
    """The command, pending or processed; None if this tenant never sent it."""
    row = await conn.fetchrow(queries.SELECT_COMMAND, tenant_id, command_id)
    if row is None:
        return None
    outcome = None
    if row["outcome"] is not None:
        outcome = StoredOutcome(list(row["outcome"]), row["processed_at"])
    return KnownCommand(row["principal_sub"], outcome)


async def get_outcome(
    conn: Connection, *, tenant_id: str, command_id: UUID
) -> StoredOutcome | None:
    """The outcome; None while the command is pending or unknown."""
    known = await lookup(conn, tenant_id=tenant_id, command_id=command_id)
    return None if known is None else known.outcome
