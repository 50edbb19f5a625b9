"""Reads and writes of caller numbers; reads always within a tenant and an OU scope."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import NamedTuple
from uuid import UUID

import asyncpg

from shared.access import OrgScope
from shared.db import Connection, queries, sparse


def scope_args(scope: OrgScope) -> tuple[bool, bool, list[str]]:
    return scope.unorganized, scope.every_unit, sorted(scope.units)


class NewNumber(NamedTuple):
    number: str
    org_unit_id: str | None
    description: str


async def insert_numbers(
    conn: Connection, *, tenant_id: str, numbers: list[NewNumber]
) -> list[asyncpg.Record]:
    """Insert in one statement, in order; a number already in the tenant (or given earlier in
    `numbers`) is left out of the result."""
    return await conn.fetch(
        queries.INSERT_CALLER_NUMBERS,
        tenant_id,
        [n.number for n in numbers],
        [n.org_unit_id for n in numbers],
        [n.description for n in numbers],
    )


async def lock_by_number(conn: Connection, *, tenant_id: str, number: str) -> asyncpg.Record | None:
    return await conn.fetchrow(queries.SELECT_CALLER_NUMBER_BY_NUMBER_FOR_UPDATE, tenant_id, number)


async def get_in_scope(
    conn: Connection, *, tenant_id: str, scope: OrgScope, caller_number_id: UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        queries.SELECT_CALLER_NUMBER_IN_SCOPE, tenant_id, *scope_args(scope), caller_number_id
    )


async def update_number(
    conn: Connection, *, caller_number_id: UUID, org_unit_id: str | None, description: str
) -> asyncpg.Record:
    row = await conn.fetchrow(
        queries.UPDATE_CALLER_NUMBER, caller_number_id, org_unit_id, description
    )
    assert row is not None
    return row


async def delete_in_scope(
    conn: Connection, *, tenant_id: str, scope: OrgScope, numbers: list[str]
) -> list[asyncpg.Record]:
    """Delete in one statement; returns the rows deleted (numbers outside `scope` stay)."""
    return await conn.fetch(
        queries.DELETE_CALLER_NUMBERS_IN_SCOPE, tenant_id, *scope_args(scope), numbers
    )


async def move_in_scope(
    conn: Connection,
    *,
    tenant_id: str,
    scope: OrgScope,
    numbers: list[str],
    org_unit_id: str | None,
) -> list[asyncpg.Record]:
    """Set the OU in one statement; returns the rows moved (numbers outside `scope` stay)."""
    return await conn.fetch(
        queries.MOVE_CALLER_NUMBERS_IN_SCOPE, tenant_id, *scope_args(scope), numbers, org_unit_id
    )


async def delete_number(conn: Connection, *, caller_number_id: UUID) -> None:
    await conn.execute(queries.DELETE_CALLER_NUMBER, caller_number_id)


@dataclass(frozen=True)
class ListFilter:
    """What a list or an export asks for; `org_unit_ids` None means any OU in scope."""

    scope: OrgScope
    org_unit_ids: list[str] | None = None
    unorganized_only: bool = False
    prefix: str = ""
    contains: str = ""
    order: str = "-created_at"  # a key of queries.LIST_ORDERS

    def args(self, tenant_id: str) -> tuple[object, ...]:
        return (
            tenant_id,
            *scope_args(self.scope),
            self.org_unit_ids,
            self.unorganized_only,
            self.prefix,
            self.contains,
        )


async def list_numbers(
    conn: Connection, *, tenant_id: str, where: ListFilter, limit: int, offset: int
) -> tuple[list[asyncpg.Record], int]:
    """One page in the filter's order, and how many numbers match in all."""
    total = await count_numbers(conn, tenant_id=tenant_id, where=where)
    rows = await conn.fetch(
        queries.list_caller_numbers(where.order), *where.args(tenant_id), limit, offset
    )
    return rows, total


async def count_numbers(conn: Connection, *, tenant_id: str, where: ListFilter) -> int:
    total: int = await conn.fetchval(queries.COUNT_CALLER_NUMBERS, *where.args(tenant_id))
    return total


async def export_rows(
    conn: Connection, *, tenant_id: str, where: ListFilter
) -> AsyncIterator[asyncpg.Record]:
    """Every match as (number, org_unit_id, org_unit_name, description, created_at), read in
    batches through a cursor; iterate inside the transaction."""
    query = queries.export_caller_numbers(where.order)
    async for record in conn.cursor(query, *where.args(tenant_id), prefetch=1000):
        yield record


async def insert_import_rows(
    conn: Connection,
    *,
    tenant_id: str,
    task_id: UUID,
    rows: list[tuple[int, str, str | None, str]],
) -> set[str]:
    """Insert a batch of (row number, number, OU id, description) in one statement; returns the
    numbers written."""
    written = await conn.fetch(
        queries.INSERT_IMPORT_ROWS,
        tenant_id,
        task_id,
        [row[0] for row in rows],
        [row[1] for row in rows],
        sparse([row[2] for row in rows]),
        sparse([row[3] for row in rows], empty=""),
    )
    return {record["number"] for record in written}


async def insert_preview_rows(
    conn: Connection, *, tenant_id: str, task_id: UUID, rows: list[tuple[int, str]]
) -> set[str]:
    """A dry run's insert_import_rows: the numbers of the (row number, number) batch that an
    import would write, new to the tenant and to the file so far; it writes no caller number."""
    written = await conn.fetch(
        queries.INSERT_PREVIEW_NUMBERS,
        tenant_id,
        task_id,
        [row[0] for row in rows],
        [row[1] for row in rows],
    )
    return {record["number"] for record in written}


async def preview_writers_of(
    conn: Connection, *, task_id: UUID, numbers: list[str]
) -> dict[str, tuple[UUID | None, int | None]]:
    """A dry run's writers_of: the first row of the file that had each of these numbers."""
    records = await conn.fetch(queries.SELECT_PREVIEW_WRITERS, task_id, numbers)
    return {r["number"]: (r["import_task_id"], r["import_row"]) for r in records}


async def writers_of(
    conn: Connection, *, tenant_id: str, numbers: list[str]
) -> dict[str, tuple[UUID | None, int | None]]:
    """For numbers that are there: the import task and row that wrote each (None if by hand)."""
    records = await conn.fetch(queries.SELECT_NUMBERS_WRITTEN_BY, tenant_id, numbers)
    return {r["number"]: (r["import_task_id"], r["import_row"]) for r in records}
