"""A published command's outcome, per number."""

from uuid import UUID

from fastapi import APIRouter

from services.api_gateway.auth import CurrentUser
from services.api_gateway.deps import Pool
from services.api_gateway.schemas import CommandStatus
from shared.contracts import NumberOutcome
from shared.db import commands
from shared.db.pool import tenant_transaction

router = APIRouter(prefix="/api/v1", tags=["commands"])


@router.get("/commands/{command_id}")
async def get_command(command_id: UUID, user: CurrentUser, pool: Pool) -> CommandStatus:
    """`pending` until the registry has processed it (an unknown id looks the same)."""
    async with tenant_transaction(pool, user.tenant_id) as conn:
        outcome = await commands.get_outcome(conn, tenant_id=user.tenant_id, command_id=command_id)
    if outcome is None:
        return CommandStatus(command_id=command_id, status="pending")
    results = [NumberOutcome.model_validate(item) for item in outcome.results]
    return CommandStatus(command_id=command_id, status="completed", results=results)
