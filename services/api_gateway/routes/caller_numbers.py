"""Caller numbers: reads straight from PostgreSQL; writes as commands over Kafka."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from services.api_gateway.auth import CurrentUser, TenantCaller
from services.api_gateway.deps import Bus, Pool, Waiter, WaitSeconds, submit, tenant_policy
from services.api_gateway.errors import ApiError, not_found, refused
from services.api_gateway.schemas import (
    AddCallerNumbersIn,
    CallerNumberOut,
    CallerNumberPage,
    CallerNumberPatch,
    CommandStatus,
)
from shared.access import Operation, TenantPolicy, write_refusal
from shared.contracts import CreateCallerNumbers, DeleteCallerNumber, UpdateCallerNumber
from shared.db import caller_numbers
from shared.db.pool import tenant_transaction
from shared.rules import ADD_MAX_DIGITS, check_description, check_numbers

router = APIRouter(prefix="/api/v1", tags=["caller numbers"])

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
    """Each number succeeds or fails on its own; malformed numbers refuse the whole request."""
    policy = await tenant_policy(pool, user)
    if refusal := write_refusal(
        user.principal, Operation.ADD, policy, target_org_units=(body.org_unit_id,)
    ) or check_description(body.description):
        raise refused(refusal)
    checked = check_numbers(body.numbers, max_digits=ADD_MAX_DIGITS)
    invalid = [
        {"index": i, "number": n, "reason": r.reason, "message": r.message}
        for i, (n, r) in enumerate(checked)
        if r is not None
    ]
    if invalid:
        raise ApiError(422, "invalid_numbers", "Some numbers are not valid.", invalid)
    command = CreateCallerNumbers(
        tenant_id=user.tenant_id,
        principal=user.principal,
        numbers=[number for number, _ in checked],
        org_unit_id=body.org_unit_id,
        description=body.description,
    )
    return await submit(command, response=response, bus=bus, pool=pool, waiter=waiter, wait=wait)


@router.get("/caller-numbers")
async def list_caller_numbers(
    user: CurrentUser,
    pool: Pool,
    org_unit_id: str | None = None,
    unorganized: bool = False,
    prefix: Annotated[str, Query(pattern=r"^[0-9]{0,24}$")] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CallerNumberPage:
    """Newest first, within the OUs the caller may see; `unorganized=true`: only those without."""
    policy = await tenant_policy(pool, user)
    async with tenant_transaction(pool, user.tenant_id) as conn:
        rows, total = await caller_numbers.list_numbers(
            conn,
            tenant_id=user.tenant_id,
            scope=policy.scope_of(user.principal),
            org_unit_id=org_unit_id,
            unorganized_only=unorganized,
            prefix=prefix,
            limit=limit,
            offset=offset,
        )
    items = [CallerNumberOut.model_validate(dict(row)) for row in rows]
    return CallerNumberPage(items=items, total=total, limit=limit, offset=offset)


async def _visible(
    pool: Pool, user: TenantCaller, caller_number_id: UUID
) -> tuple[dict[str, Any], TenantPolicy]:
    policy = await tenant_policy(pool, user)
    async with tenant_transaction(pool, user.tenant_id) as conn:
        row = await caller_numbers.get_in_scope(
            conn,
            tenant_id=user.tenant_id,
            scope=policy.scope_of(user.principal),
            caller_number_id=caller_number_id,
        )
    if row is None:
        raise not_found("caller number")
    return dict(row), policy


@router.get("/caller-numbers/{caller_number_id}")
async def get_caller_number(
    caller_number_id: UUID, user: CurrentUser, pool: Pool
) -> CallerNumberOut:
    row, _ = await _visible(pool, user, caller_number_id)
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
    row, policy = await _visible(pool, user, caller_number_id)
    org_unit_id = body.org_unit_id if "org_unit_id" in body.model_fields_set else row["org_unit_id"]
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
    return await submit(command, response=response, bus=bus, pool=pool, waiter=waiter, wait=wait)


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
    row, policy = await _visible(pool, user, caller_number_id)
    if refusal := write_refusal(user.principal, Operation.DELETE, policy):
        raise refused(refusal)
    command = DeleteCallerNumber(
        tenant_id=user.tenant_id, principal=user.principal, number=row["number"]
    )
    return await submit(command, response=response, bus=bus, pool=pool, waiter=waiter, wait=wait)
