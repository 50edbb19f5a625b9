"""System administration: tenants and their parameters, system parameters, OUs."""

import asyncpg
from fastapi import APIRouter, status

from services.api_gateway.auth import SystemAdmin
from services.api_gateway.deps import Pool
from services.api_gateway.errors import ApiError, not_found
from services.api_gateway.schemas import (
    OrgUnitIn,
    OrgUnitOut,
    SystemParameterIn,
    SystemParameterOut,
    TenantIn,
    TenantOut,
    TenantPatch,
)
from services.api_gateway.strict_json import StrictJsonRoute
from shared.db import tenants
from shared.db.pool import tenant_transaction

router = APIRouter(prefix="/api/v1/admin", tags=["administration"], route_class=StrictJsonRoute)
KNOWN_PARAMETERS = {tenants.TENANTS_MAY_MAINTAIN}


@router.post("/tenants", status_code=status.HTTP_201_CREATED)
async def create_tenant(body: TenantIn, _: SystemAdmin, pool: Pool) -> TenantOut:
    async with tenant_transaction(pool, body.id) as conn:
        row = await tenants.create_tenant(
            conn,
            tenant_id=body.id,
            name=body.name,
            anonymization=body.calling_number_anonymization,
            isolation=body.data_isolation_enforced,
            max_caller_numbers=body.max_caller_numbers,
        )
    if row is None:
        raise ApiError(409, "conflict", f"The tenant {body.id!r} exists already.")
    return TenantOut.model_validate(dict(row))


@router.patch("/tenants/{tenant_id}")
async def update_tenant(tenant_id: str, body: TenantPatch, _: SystemAdmin, pool: Pool) -> TenantOut:
    """A quota below what the tenant has keeps its numbers; adds fail until it is under again."""
    quota = (
        body.max_caller_numbers if "max_caller_numbers" in body.model_fields_set else tenants.KEEP
    )
    async with tenant_transaction(pool, tenant_id) as conn:
        row = await tenants.update_tenant(
            conn,
            tenant_id=tenant_id,
            name=body.name,
            anonymization=body.calling_number_anonymization,
            isolation=body.data_isolation_enforced,
            max_caller_numbers=quota,
        )
    if row is None:
        raise not_found("tenant")
    return TenantOut.model_validate(dict(row))


@router.put("/system-parameters/{name}")
async def set_system_parameter(
    name: str, body: SystemParameterIn, _: SystemAdmin, pool: Pool
) -> SystemParameterOut:
    if name not in KNOWN_PARAMETERS:
        raise ApiError(404, "not_found", f"No system parameter {name!r}.", sorted(KNOWN_PARAMETERS))
    async with pool.acquire() as conn:  # system parameters belong to no tenant
        row = await tenants.set_system_parameter(conn, name=name, value=body.value)
    return SystemParameterOut.model_validate(dict(row))


@router.post("/tenants/{tenant_id}/org-units", status_code=status.HTTP_201_CREATED)
async def add_org_unit(tenant_id: str, body: OrgUnitIn, _: SystemAdmin, pool: Pool) -> OrgUnitOut:
    async with tenant_transaction(pool, tenant_id) as conn:
        if await tenants.get_tenant(conn, tenant_id=tenant_id) is None:
            raise not_found("tenant")
        try:
            row = await tenants.add_org_unit(
                conn,
                tenant_id=tenant_id,
                org_unit_id=body.id,
                name=body.name,
                parent_id=body.parent_id,
            )
        except asyncpg.ForeignKeyViolationError as error:
            message = f"No parent organization unit {body.parent_id!r} in this tenant."
            raise ApiError(422, "org_unit_not_found", message) from error
    if row is None:
        raise ApiError(409, "conflict", f"The organization unit {body.id!r} exists already.")
    return OrgUnitOut.model_validate(dict(row))
