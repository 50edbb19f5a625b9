"""A published command's outcome, per number."""

from uuid import UUID

from fastapi import APIRouter

from services.api_gateway.auth import CurrentUser, TenantCaller
from services.api_gateway.deps import Pool, policy_transaction
from services.api_gateway.errors import not_found
from services.api_gateway.schemas import CommandStatus
from services.api_gateway.strict_json import StrictJsonRoute
from shared.access import OrgScope
from shared.contracts import NumberOutcome
from shared.db import commands
from shared.db.commands import KnownCommand

router = APIRouter(prefix="/api/v1", tags=["commands"], route_class=StrictJsonRoute)


@router.get("/commands/{command_id}")
async def get_command(command_id: UUID, user: CurrentUser, pool: Pool) -> CommandStatus:
    """`pending` from the moment the gateway answered 202 until the registry has processed it;
    an upstream system's command once processed. 404 for an id this tenant never sent, and for
    a command the caller may not see (see `_may_see`)."""
    async with policy_transaction(pool, user) as (conn, policy):
        known = await commands.lookup(conn, tenant_id=user.tenant_id, command_id=command_id)
    if known is None or not _may_see(user, policy.scope_of(user.principal), known):
        raise not_found("command")
    if known.outcome is None:
        return CommandStatus(command_id=command_id, status="pending")
    results = [NumberOutcome.model_validate(item) for item in known.outcome.results]
    return CommandStatus(command_id=command_id, status="completed", results=results)


def _may_see(user: TenantCaller, scope: OrgScope, known: KnownCommand) -> bool:
    """The caller sent it, sees every OU and Unorganized, or sees the OU of every number the
    command left behind; a rejection names no OU, so it is shown only to those two."""
    if known.principal_sub == user.principal.sub or (scope.every_unit and scope.unorganized):
        return True
    if known.outcome is None:
        return False
    numbers = [NumberOutcome.model_validate(item) for item in known.outcome.results]
    return all(n.caller_number and scope.allows(n.caller_number.org_unit_id) for n in numbers)
