"""Caller numbers: reads straight from PostgreSQL; writes as commands over Kafka."""

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import AfterValidator
from starlette.background import BackgroundTask

from services.api_gateway.auth import CurrentUser, TenantCaller
from services.api_gateway.deps import (
    AppSettings,
    Bus,
    Pool,
    Waiter,
    WaitSeconds,
    policy_transaction,
    publish,
    record_pending,
    tenant_policy,
)
from services.api_gateway.errors import ApiError, not_found, refused
from services.api_gateway.exports import (
    XLSX,
    ExportRow,
    XlsxExportWriter,
    csv_chunk,
    export_row,
)
from services.api_gateway.schemas import (
    AddCallerNumbersIn,
    CallerNumberOut,
    CallerNumberPage,
    CallerNumberPatch,
    CommandStatus,
)
from services.api_gateway.strict_json import StrictJsonRoute
from shared.access import Operation, TenantPolicy, subtree, write_refusal
from shared.contracts import CreateCallerNumbers, DeleteCallerNumber, Text, UpdateCallerNumber
from shared.db import Connection, caller_numbers
from shared.db.caller_numbers import ListFilter
from shared.db.pool import tenant_transaction
from shared.rules import check_description, search_digits

router = APIRouter(prefix="/api/v1", tags=["caller numbers"], route_class=StrictJsonRoute)

_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"model": CommandStatus, "description": "Accepted; poll the Location."}
}


@router.post("/caller-numbers", responses=_ACCEPTED)
async def add_caller_numbers(
    body: AddCallerNumbersIn,
    user: CurrentUser,
    pool: Pool,
    bus: Bus,
    waiter: Waiter,
    wait: WaitSeconds,
    response: Response,
) -> CommandStatus:
    """Each number succeeds or fails on its own, with its own reason in the outcome (empty,
    not_digits, too_long, repeated_in_request, duplicate); what concerns the whole request
    (the OU, the description, the caller's rights, the prerequisites) refuses it whole."""
    async with policy_transaction(pool, user) as (conn, policy):
        if refusal := write_refusal(
            user.principal, Operation.ADD, policy, target_org_units=(body.org_unit_id,)
        ) or check_description(body.description):
            raise refused(refusal)
        command = CreateCallerNumbers(
            tenant_id=user.tenant_id,
            principal=user.principal,
            numbers=body.numbers,
            org_unit_id=body.org_unit_id,
            description=body.description,
        )
        await record_pending(conn, command)
    return await publish(command, response=response, bus=bus, pool=pool, waiter=waiter, wait=wait)


ListOrder = Literal["number", "-number", "org_unit", "-org_unit", "created_at", "-created_at"]


@dataclass(frozen=True)
class ListQuery:
    """The list's query string, shared by the list and its export."""

    org_unit_id: Text | None = None
    include_sub_units: bool = False
    unorganized: bool = False
    prefix: Annotated[str, Query(max_length=64), AfterValidator(search_digits)] = ""
    contains: Annotated[str, Query(max_length=64), AfterValidator(search_digits)] = ""
    sort: ListOrder = "-created_at"

    def where(self, policy: TenantPolicy, user: TenantCaller) -> ListFilter:
        units = None
        if self.org_unit_id is not None:
            wanted = self.org_unit_id
            units = sorted(subtree(wanted, policy.parents)) if self.include_sub_units else [wanted]
        return ListFilter(
            scope=policy.scope_of(user.principal),
            org_unit_ids=units,
            unorganized_only=self.unorganized,
            prefix=self.prefix,
            contains=self.contains,
            order=self.sort,
        )


@router.get("/caller-numbers")
async def list_caller_numbers(
    user: CurrentUser,
    pool: Pool,
    query: Annotated[ListQuery, Depends()],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CallerNumberPage:
    """One page of what the caller may see, and `total`: how many match in all.

    `sort`: number, org_unit (by name, Unorganized first) or created_at, `-` for descending;
    default `-created_at` (newest first). `prefix` / `contains`: digits the number starts with /
    holds, typed as people write numbers (`+86 138-0013`: spaces, dashes, dots, parentheses and
    a leading + are dropped; other text is 422). `org_unit_id` with `include_sub_units=true`:
    that OU and every OU below it.
    `unorganized=true`: only numbers without an OU.
    """
    async with policy_transaction(pool, user) as (conn, policy):
        rows, total = await caller_numbers.list_numbers(
            conn,
            tenant_id=user.tenant_id,
            where=query.where(policy, user),
            limit=limit,
            offset=offset,
        )
    items = [CallerNumberOut.model_validate(dict(row)) for row in rows]
    return CallerNumberPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/caller-numbers/export", response_class=Response)
async def export_caller_numbers(
    user: CurrentUser,
    pool: Pool,
    query: Annotated[ListQuery, Depends()],
    settings: AppSettings,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """Every number the list's query matches, in its order: caller number, OU name, OU id,
    description, created (ISO 8601). xlsx holds text cells only; CSV cells that a spreadsheet
    would run as a formula start with `'`. 422 `export_too_large` for an xlsx of more rows than
    the setting export_xlsx_max_rows (Excel's limit).
    """
    policy = await tenant_policy(pool, user)
    where = query.where(policy, user)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"caller-numbers-{stamp}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        chunks = _export_chunks(pool, user.tenant_id, where)
        return StreamingResponse(_csv(chunks), media_type="text/csv", headers=headers)
    async with tenant_transaction(pool, user.tenant_id) as conn:
        total = await caller_numbers.count_numbers(conn, tenant_id=user.tenant_id, where=where)
    if total > settings.export_xlsx_max_rows:
        message = f"{total:,} numbers do not fit in one xlsx sheet; export them as CSV."
        raise ApiError(422, "export_too_large", message)
    folder = Path(tempfile.mkdtemp(prefix="export-"))
    try:
        writer = XlsxExportWriter(folder / name)
        async for chunk in _export_chunks(pool, user.tenant_id, where):
            await asyncio.to_thread(writer.write, chunk)  # CPU work off the event loop
        await asyncio.to_thread(writer.close)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        folder / name,
        media_type=XLSX,
        filename=name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


_EXPORT_CHUNK = 5000


async def _export_chunks(
    pool: Pool, tenant_id: str, where: ListFilter
) -> AsyncIterator[list[ExportRow]]:
    async with tenant_transaction(pool, tenant_id) as conn:
        chunk: list[ExportRow] = []
        async for row in caller_numbers.export_rows(conn, tenant_id=tenant_id, where=where):
            chunk.append(export_row(*row))
            if len(chunk) == _EXPORT_CHUNK:
                yield chunk
                chunk = []
        yield chunk


async def _csv(chunks: AsyncIterator[list[ExportRow]]) -> AsyncIterator[bytes]:
    header = True
    async for chunk in chunks:
        yield csv_chunk(chunk, header=header)
        header = False


async def _visible(
    conn: Connection, policy: TenantPolicy, user: TenantCaller, caller_number_id: UUID
) -> dict[str, Any]:
    """The caller number if the caller may see it; 404 otherwise."""
    row = await caller_numbers.get_in_scope(
        conn,
        tenant_id=user.tenant_id,
        scope=policy.scope_of(user.principal),
        caller_number_id=caller_number_id,
    )
    if row is None:
        raise not_found("caller number")
    return dict(row)


@router.get("/caller-numbers/{caller_number_id}")
async def get_caller_number(
    caller_number_id: UUID, user: CurrentUser, pool: Pool
) -> CallerNumberOut:
    async with policy_transaction(pool, user) as (conn, policy):
        row = await _visible(conn, policy, user, caller_number_id)
    return CallerNumberOut.model_validate(row)


@router.patch("/caller-numbers/{caller_number_id}", responses=_ACCEPTED)
async def edit_caller_number(
    caller_number_id: UUID,
    body: CallerNumberPatch,
    user: CurrentUser,
    pool: Pool,
    bus: Bus,
    waiter: Waiter,
    wait: WaitSeconds,
    response: Response,
) -> CommandStatus:
    async with policy_transaction(pool, user) as (conn, policy):
        row = await _visible(conn, policy, user, caller_number_id)
        org_unit_id = (
            body.org_unit_id if "org_unit_id" in body.model_fields_set else row["org_unit_id"]
        )
        description = row["description"] if body.description is None else body.description
        if refusal := write_refusal(
            user.principal, Operation.EDIT, policy, target_org_units=(org_unit_id,)
        ) or check_description(description):
            raise refused(refusal)
        command = UpdateCallerNumber(
            tenant_id=user.tenant_id,
            principal=user.principal,
            number=row["number"],
            org_unit_id=org_unit_id,
            description=description,
        )
        await record_pending(conn, command)
    return await publish(command, response=response, bus=bus, pool=pool, waiter=waiter, wait=wait)


@router.delete("/caller-numbers/{caller_number_id}", responses=_ACCEPTED)
async def delete_caller_number(
    caller_number_id: UUID,
    user: CurrentUser,
    pool: Pool,
    bus: Bus,
    waiter: Waiter,
    wait: WaitSeconds,
    response: Response,
) -> CommandStatus:
    async with policy_transaction(pool, user) as (conn, policy):
        row = await _visible(conn, policy, user, caller_number_id)
        if refusal := write_refusal(user.principal, Operation.DELETE, policy):
            raise refused(refusal)
        command = DeleteCallerNumber(
            tenant_id=user.tenant_id, principal=user.principal, number=row["number"]
        )
        await record_pending(conn, command)
    return await publish(command, response=response, bus=bus, pool=pool, waiter=waiter, wait=wait)
