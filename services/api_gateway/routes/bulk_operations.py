"""Bulk delete and bulk move: the matching set fixed at once, sent as chunked commands under
one bulk operation whose outcomes are counted and paged."""

import asyncio
import logging
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

import asyncpg
from fastapi import APIRouter, Query, Response

from services.api_gateway.auth import CurrentUser, TenantCaller
from services.api_gateway.deps import Bus, Pool, tenant_policy
from services.api_gateway.errors import ApiError, not_found, refused
from services.api_gateway.routes.caller_numbers import ListQuery
from services.api_gateway.schemas import (
    BulkFilterIn,
    BulkOperationIn,
    BulkOperationOut,
    BulkOutcomePage,
)
from services.api_gateway.strict_json import StrictJsonRoute
from shared.access import Operation, TenantPolicy, write_refusal
from shared.contracts import (
    BULK_CHUNK,
    DeleteCallerNumbers,
    MoveCallerNumbers,
    NumberOutcome,
)
from shared.db import bulk_operations, caller_numbers
from shared.db import commands as commands_db
from shared.db.pool import tenant_transaction
from shared.rules import Reason

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/api/v1/caller-number-bulk-operations",
    tags=["caller numbers"],
    route_class=StrictJsonRoute,
)


@router.post("", status_code=202)
async def start_bulk_operation(
    body: BulkOperationIn, user: CurrentUser, pool: Pool, bus: Bus, response: Response
) -> BulkOperationOut:
    """202 at once with the operation; poll it (Location) and page its outcomes.

    403 as for one delete or edit; 422 `nothing_matches` if the filter matches no number.
    """
    policy = await tenant_policy(pool, user)
    operation, targets = (
        (Operation.DELETE, ()) if body.action == "delete" else (Operation.EDIT, (body.org_unit_id,))
    )
    if refusal := write_refusal(user.principal, operation, policy, target_org_units=targets):
        raise refused(refusal)
    numbers = body.numbers or await _matching(pool, user, policy, body.filter)
    if not numbers:
        raise ApiError(422, "nothing_matches", "No caller numbers match the filter.")
    operation_id = uuid4()
    chunks = [numbers[i : i + BULK_CHUNK] for i in range(0, len(numbers), BULK_CHUNK)]
    commands = [_command(body, user, operation_id, chunk) for chunk in chunks]
    async with tenant_transaction(pool, user.tenant_id) as conn:
        row = await bulk_operations.insert(
            conn,
            bulk_operation_id=operation_id,
            tenant_id=user.tenant_id,
            principal_sub=user.principal.sub,
            action=body.action,
            org_unit_id=body.org_unit_id,
            total=len(numbers),
            command_ids=[command.message_id for command in commands],
        )
    sent = await asyncio.gather(
        *(bus.send_command(command) for command in commands), return_exceptions=True
    )
    results = zip(commands, sent, strict=True)
    if unsent := [c for c, result in results if isinstance(result, BaseException)]:
        await _record_unsent(pool, user, unsent)
    response.headers["Location"] = f"/api/v1/caller-number-bulk-operations/{operation_id}"
    return _out(row, 0, {})


async def _record_unsent(
    pool: asyncpg.Pool, user: TenantCaller, unsent: list[DeleteCallerNumbers | MoveCallerNumbers]
) -> None:
    """Chunks Kafka did not take are answered `not_sent` per number, so the operation still
    ends and says which numbers to try again."""
    log.warning("bulk operation: %d of its commands could not be published", len(unsent))
    message = "Not sent: the message bus was unavailable. Try these numbers again."
    async with tenant_transaction(pool, user.tenant_id) as conn:
        for command in unsent:
            outcome = [
                NumberOutcome(
                    number=number, status="rejected", reason=Reason.NOT_SENT, message=message
                ).model_dump(mode="json")
                for number in command.numbers
            ]
            await commands_db.record_unsent(
                conn,
                tenant_id=user.tenant_id,
                command_id=command.message_id,
                command_type=command.type,
                principal_sub=user.principal.sub,
                outcome=outcome,
            )


async def _matching(
    pool: asyncpg.Pool, user: TenantCaller, policy: TenantPolicy, wanted: BulkFilterIn | None
) -> list[str]:
    """Every number the filter matches now, within the caller's scope, by number."""
    assert wanted is not None
    query = ListQuery(**wanted.model_dump(), sort="number")
    async with tenant_transaction(pool, user.tenant_id) as conn:
        rows = caller_numbers.export_rows(
            conn, tenant_id=user.tenant_id, where=query.where(policy, user)
        )
        return [row["number"] async for row in rows]


def _command(
    body: BulkOperationIn, user: TenantCaller, operation_id: UUID, numbers: list[str]
) -> DeleteCallerNumbers | MoveCallerNumbers:
    common: dict[str, Any] = {
        "tenant_id": user.tenant_id,
        "principal": user.principal,
        "numbers": numbers,
        "bulk_operation_id": operation_id,
    }
    if body.action == "delete":
        return DeleteCallerNumbers(**common)
    return MoveCallerNumbers(**common, org_unit_id=body.org_unit_id)


def _out(row: asyncpg.Record, done: int, counts: dict[str, int]) -> BulkOperationOut:
    commands = len(row["command_ids"])
    return BulkOperationOut(
        id=row["id"],
        action=row["action"],
        org_unit_id=row["org_unit_id"],
        total=row["total"],
        commands=commands,
        commands_done=done,
        status="completed" if done == commands else "running",
        counts=counts,
        created_at=row["created_at"],
    )


async def _own(pool: asyncpg.Pool, user: TenantCaller, operation_id: UUID) -> asyncpg.Record:
    """The operation if this user started it; anyone else's is as if absent (404)."""
    async with tenant_transaction(pool, user.tenant_id) as conn:
        row = await bulk_operations.get(
            conn, tenant_id=user.tenant_id, bulk_operation_id=operation_id
        )
    if row is None or row["principal_sub"] != user.principal.sub:
        raise not_found("bulk operation")
    return row


@router.get("/{operation_id}")
async def get_bulk_operation(operation_id: UUID, user: CurrentUser, pool: Pool) -> BulkOperationOut:
    row = await _own(pool, user, operation_id)
    async with tenant_transaction(pool, user.tenant_id) as conn:
        done, counts = await bulk_operations.progress(
            conn, tenant_id=user.tenant_id, command_ids=row["command_ids"]
        )
    return _out(row, done, counts)


@router.get("/{operation_id}/outcomes")
async def page_bulk_outcomes(
    operation_id: UUID,
    user: CurrentUser,
    pool: Pool,
    status: Literal["deleted", "updated", "rejected"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> BulkOutcomePage:
    """The outcomes processed so far, in the order the numbers were sent; `status` filters."""
    row = await _own(pool, user, operation_id)
    async with tenant_transaction(pool, user.tenant_id) as conn:
        items, total = await bulk_operations.outcomes(
            conn,
            tenant_id=user.tenant_id,
            command_ids=row["command_ids"],
            status=status,
            limit=limit,
            offset=offset,
        )
    outcomes = [NumberOutcome.model_validate(item) for item in items]
    return BulkOutcomePage(items=outcomes, total=total, limit=limit, offset=offset)
