"""The caller as the page needs them: what they may do, and whether their tenant allows writes."""

from fastapi import APIRouter
from pydantic import BaseModel

from services.api_gateway.auth import CurrentUser
from services.api_gateway.deps import Pool, policy_transaction
from services.api_gateway.strict_json import StrictJsonRoute
from shared.access import Operation, may
from shared.contracts import Role
from shared.db import quotas
from shared.rules import FEATURE_DISABLED, prerequisites_met

router = APIRouter(prefix="/api/v1", tags=["caller"], route_class=StrictJsonRoute)


class CallerNumberUsage(BaseModel):
    """The tenant's caller numbers: how many it has, and its quota (null: unlimited)."""

    used: int
    allowed: int | None


class Me(BaseModel):
    tenant_id: str
    sub: str
    role: Role
    org_unit_id: str | None
    permissions: list[str]
    writes_enabled: bool
    writes_disabled_message: str | None
    caller_numbers: CallerNumberUsage


@router.get("/me")
async def me(user: CurrentUser, pool: Pool) -> Me:
    """`writes_enabled` is false while the tenant's prerequisites are off (writes answer 403);
    `caller_numbers`: how many numbers the tenant has (`used`) and may have (`allowed`)."""
    async with policy_transaction(pool, user) as (conn, policy):
        usage = await quotas.usage(conn, tenant_id=user.tenant_id)
    assert usage is not None  # policy_transaction answered 404 otherwise
    enabled = prerequisites_met(
        anonymization_enabled=policy.anonymization_enabled,
        tenants_may_maintain=policy.tenants_may_maintain,
    )
    principal = user.principal
    return Me(
        tenant_id=user.tenant_id,
        sub=principal.sub,
        role=principal.role,
        org_unit_id=principal.org_unit_id,
        permissions=[operation.value for operation in Operation if may(principal, operation)],
        writes_enabled=enabled,
        writes_disabled_message=None if enabled else FEATURE_DISABLED.message,
        caller_numbers=CallerNumberUsage(used=usage.used, allowed=usage.allowed),
    )
