"""The OUs the caller may choose (for the add form's drop-down)."""

from fastapi import APIRouter

from services.api_gateway.auth import CurrentUser
from services.api_gateway.deps import Pool
from services.api_gateway.errors import not_found
from services.api_gateway.schemas import ChoosableOrgUnits, OrgUnitOut
from services.api_gateway.strict_json import StrictJsonRoute
from shared.db import tenants
from shared.db.pool import tenant_transaction

router = APIRouter(prefix="/api/v1", tags=["organization units"], route_class=StrictJsonRoute)


@router.get("/org-units")
async def choosable_org_units(user: CurrentUser, pool: Pool) -> ChoosableOrgUnits:
    async with tenant_transaction(pool, user.tenant_id) as conn:
        policy = await tenants.load_policy(conn, tenant_id=user.tenant_id)
        units = await tenants.list_org_units(conn, tenant_id=user.tenant_id)
    if policy is None:
        raise not_found("tenant")
    scope = policy.scope_of(user.principal)
    return ChoosableOrgUnits(
        unorganized=scope.unorganized,
        org_units=[OrgUnitOut.model_validate(dict(u)) for u in units if scope.allows(u["id"])],
    )
