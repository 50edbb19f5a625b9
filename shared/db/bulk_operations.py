"""Bulk operations: their row, and their outcomes read from the commands they sent."""

from typing import Any
from uuid import UUID

import asyncpg

from shared.db import Connection, queries


async def insert(
    conn: Connection,
    *,
    bulk_operation_id: UUID,
    tenant_id: str,
    principal_sub: str,
    action: str,
    org_unit_id: str | None,
    total: int,
    command_ids: list[UUID],
) -> asyncpg.Record:
    row = await conn.fetchrow(
        queries.INSERT_BULK_OPERATION,
        bulk_operation_id,
        tenant_id,
        principal_sub,
        action,
        org_unit_id,
        total,
        command_ids,
    )
    assert row is not None
    return row


async def get(
    conn: Connection, *, tenant_id: str, bulk_operation_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(queries.SELECT_BULK_OPERATION, tenant_id, bulk_operation_id)


async def progress(
    conn: Connection, *, tenant_id: str, command_ids: list[UUID]
) -> tuple[int, dict[str, int]]:
    """How many of the commands are processed, and their outcomes counted by status."""
    done: int = await conn.fetchval(queries.COUNT_BULK_COMMANDS_DONE, tenant_id, command_ids)
    rows = await conn.fetch(queries.COUNT_BULK_OUTCOMES, tenant_id, command_ids)
    return done, {row["status"]: row["outcomes"] for row in rows}


async def outcomes(
    conn: Connection,
    *,
    tenant_id: str,
    command_ids: list[UUID],
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """One page of outcomes (as stored) in the order the numbers were sent, and the total."""
    rows = await conn.fetch(
        queries.PAGE_BULK_OUTCOMES, tenant_id, command_ids, status, limit, offset
    )
    return [row["outcome"] for row in rows], (rows[0]["total"] if rows else 0)
