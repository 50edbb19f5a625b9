"""The caller numbers' audit history: who acts (for the triggers that write it), and its reads.

The records are written by triggers on caller_number (migration 0012), in the transaction of
the change; a writer only says who acts and by what, before it writes."""

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import orjson

from shared.access import OrgScope
from shared.contracts import Principal
from shared.db import Connection, queries
from shared.db.caller_numbers import scope_args


async def set_actor(
    conn: Connection,
    *,
    principal: Principal,
    command_id: UUID | None = None,
    bulk_operation_id: UUID | None = None,
) -> None:
    """Who acts, until the transaction ends or the next call: every field is set each time, so
    commands applied one after another in one transaction never inherit each other's."""
    await conn.execute(
        queries.SET_AUDIT_ACTOR,
        principal.sub,
        principal.role.value,
        "" if command_id is None else str(command_id),
        "" if bulk_operation_id is None else str(bulk_operation_id),
        "",
    )


async def set_actors_by_number(
    conn: Connection, actors: Mapping[str, tuple[Principal, UUID]]
) -> None:
    """Who creates each number, and by which command, for one INSERT of several commands'
    numbers (migration 0014): {number: (principal, command_id)}. Replaces any set_actor."""
    by_number = {
        number: {"sub": principal.sub, "role": principal.role.value, "command_id": str(command)}
        for number, (principal, command) in actors.items()
    }
    await conn.execute(queries.SET_AUDIT_ACTOR, "", "", "", "", orjson.dumps(by_number).decode())


@dataclass(frozen=True)
class AuditFilter:
    """What a history page or export asks for; None: no such filter. `before_id` is the cursor."""

    scope: OrgScope
    number: str | None = None
    caller_number_id: UUID | None = None
    principal_sub: str | None = None
    changed_from: datetime | None = None
    changed_until: datetime | None = None
    before_id: int | None = None

    def args(self, tenant_id: str) -> tuple[object, ...]:
        return (
            tenant_id,
            *scope_args(self.scope),
            self.number,
            self.caller_number_id,
            self.principal_sub,
            self.changed_from,
            self.changed_until,
            self.before_id,
        )


async def page(
    conn: Connection, *, tenant_id: str, where: AuditFilter, limit: int
) -> list[asyncpg.Record]:
    """Up to `limit` records, newest first, that the scope may see."""
    return await conn.fetch(queries.PAGE_AUDIT, *where.args(tenant_id), limit)


async def export(
    conn: Connection, *, tenant_id: str, where: AuditFilter
) -> AsyncIterator[asyncpg.Record]:
    """Every matching record, newest first, through a cursor; iterate inside the transaction."""
    async for record in conn.cursor(queries.EXPORT_AUDIT, *where.args(tenant_id), prefetch=1000):
        yield record


async def delete_before(conn: Connection, *, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` records changed before `cutoff`, of any tenant (retention only)."""
    status = await conn.execute(queries.DELETE_AUDIT_BEFORE, cutoff, batch)
    return int(status.split()[-1])
