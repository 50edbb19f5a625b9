"""The caller numbers' audit history: one number's, and the tenant's (filtered, paged, CSV)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator

from services.api_gateway.auth import CurrentUser
from services.api_gateway.deps import Pool, policy_transaction, tenant_policy
from services.api_gateway.errors import not_found
from services.api_gateway.exports import audit_csv_chunk
from services.api_gateway.schemas import AuditPage, AuditRecordOut, AuditState
from services.api_gateway.strict_json import StrictJsonRoute
from shared.access import OrgScope
from shared.contracts import Text
from shared.db import audit, caller_numbers
from shared.db.audit import AuditFilter
from shared.db.pool import tenant_transaction
from shared.rules import search_digits

router = APIRouter(prefix="/api/v1", tags=["audit"], route_class=StrictJsonRoute)

Limit = Annotated[int, Query(ge=1, le=500)]
# The id of the last record of the page before; opaque to clients.
Cursor = Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")]


def _digits(typed: str | None) -> str | None:
    return None if typed is None else search_digits(typed) or None


def _moment(value: datetime | None) -> datetime | None:
    """In UTC (a time without an offset is taken as UTC); ValueError past the calendar's ends."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is outside the calendar") from None


Moment = Annotated[datetime | None, AfterValidator(_moment)]


@dataclass(frozen=True)
class AuditQuery:
    """The tenant-wide history's filters, shared by the page and its CSV export."""

    number: Annotated[str | None, Query(max_length=64), AfterValidator(_digits)] = None
    caller_number_id: UUID | None = None
    principal: Annotated[Text | None, Query(min_length=1, max_length=200)] = None
    changed_from: Moment = None
    changed_until: Moment = None

    def where(self, scope: OrgScope, cursor: str | None = None) -> AuditFilter:
        return AuditFilter(
            scope=scope,
            number=self.number,
            caller_number_id=self.caller_number_id,
            principal_sub=self.principal,
            changed_from=self.changed_from,
            changed_until=self.changed_until,
            before_id=None if cursor is None else int(cursor),
        )


@router.get("/caller-numbers/{caller_number_id}/history")
async def caller_number_history(
    caller_number_id: UUID, user: CurrentUser, pool: Pool, limit: Limit = 50, cursor: Cursor = None
) -> AuditPage:
    """One number's changes, newest first, that the caller may see (the OU before or after a
    change in their scope). A deleted number keeps its history; 404 when the caller sees
    neither the number nor any of its changes."""
    policy = await tenant_policy(pool, user)
    scope = policy.scope_of(user.principal)
    where = AuditFilter(
        scope=scope,
        caller_number_id=caller_number_id,
        before_id=None if cursor is None else int(cursor),
    )
    async with tenant_transaction(pool, user.tenant_id) as conn:
        records = await audit.page(conn, tenant_id=user.tenant_id, where=where, limit=limit)
        if not records and cursor is None:
            number = await caller_numbers.get_in_scope(
                conn, tenant_id=user.tenant_id, scope=scope, caller_number_id=caller_number_id
            )
            if number is None:
                raise not_found("caller number")
    return _page(records, limit)


@router.get("/audit")
async def tenant_audit(
    user: CurrentUser,
    pool: Pool,
    query: Annotated[AuditQuery, Depends()],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AuditPage:
    """The tenant's changes of caller numbers, newest first, that the caller may see. Filters:
    `number` (digits, typed as people write numbers), `caller_number_id`, `principal` (a `sub`),
    `changed_from` (inclusive) and `changed_until` (exclusive), ISO 8601 times. Pass
    `next_cursor` as `cursor` for the next page."""
    async with policy_transaction(pool, user) as (conn, policy):
        where = query.where(policy.scope_of(user.principal), cursor)
        records = await audit.page(conn, tenant_id=user.tenant_id, where=where, limit=limit)
    return _page(records, limit)


@router.get("/audit/export", response_class=Response)
async def export_audit(
    user: CurrentUser, pool: Pool, query: Annotated[AuditQuery, Depends()]
) -> StreamingResponse:
    """Every record the filters match, newest first, as CSV (UTF-8 with BOM): changed, caller
    number, action, OU and description before and after, by, role, command, bulk operation,
    import task, import row. Text cells a spreadsheet would run as a formula start with `'`."""
    policy = await tenant_policy(pool, user)
    where = query.where(policy.scope_of(user.principal))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="caller-number-audit-{stamp}.csv"'}
    return StreamingResponse(
        _csv(pool, user.tenant_id, where), media_type="text/csv", headers=headers
    )


_EXPORT_CHUNK = 5000


async def _csv(pool: Pool, tenant_id: str, where: AuditFilter) -> AsyncIterator[bytes]:
    header = True
    async with tenant_transaction(pool, tenant_id) as conn:
        chunk: list[asyncpg.Record] = []
        async for record in audit.export(conn, tenant_id=tenant_id, where=where):
            chunk.append(record)
            if len(chunk) == _EXPORT_CHUNK:
                yield audit_csv_chunk(chunk, header=header)
                chunk, header = [], False
        yield audit_csv_chunk(chunk, header=header)


def _page(records: list[asyncpg.Record], limit: int) -> AuditPage:
    items = [_record(record) for record in records]
    next_cursor = str(records[-1]["id"]) if len(records) == limit else None
    return AuditPage(items=items, next_cursor=next_cursor)


def _record(r: asyncpg.Record) -> AuditRecordOut:
    before = after = None
    if r["action"] != "created":
        before = AuditState(
            org_unit_id=r["org_unit_id_before"], description=r["description_before"]
        )
    if r["action"] != "deleted":
        after = AuditState(org_unit_id=r["org_unit_id_after"], description=r["description_after"])
    return AuditRecordOut(
        id=r["id"],
        caller_number_id=r["caller_number_id"],
        number=r["number"],
        action=r["action"],
        changed_at=r["changed_at"],
        principal_sub=r["principal_sub"],
        principal_role=r["principal_role"],
        before=before,
        after=after,
        command_id=r["command_id"],
        bulk_operation_id=r["bulk_operation_id"],
        import_task_id=r["import_task_id"],
        import_row=r["import_row"],
    )
