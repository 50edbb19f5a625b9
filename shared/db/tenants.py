"""Tenants, their OUs and the system parameters: what decides who may write caller numbers."""

from typing import Any

import asyncpg

from shared.access import TenantPolicy
from shared.db import Connection, queries

# The manual's system parameter "Allowing Tenants to Maintain Calling Numbers".
TENANTS_MAY_MAINTAIN = "allowing_tenants_to_maintain_calling_numbers"


async def create_tenant(
    conn: Connection,
    *,
    tenant_id: str,
    name: str,
    anonymization: bool,
    isolation: bool,
    max_caller_numbers: int | None = None,
) -> asyncpg.Record | None:
    """The new tenant; None if it exists. `max_caller_numbers` None: unlimited."""
    return await conn.fetchrow(
        queries.INSERT_TENANT, tenant_id, name, anonymization, isolation, max_caller_numbers
    )


# `update_tenant` leaves the quota as it is unless given one (None sets it unlimited).
KEEP: Any = object()


async def update_tenant(
    conn: Connection,
    *,
    tenant_id: str,
    name: str | None,
    anonymization: bool | None,
    isolation: bool | None,
    max_caller_numbers: int | None = KEEP,
) -> asyncpg.Record | None:
    """None (for a parameter): keep it as it is; the quota keeps unless given (None: unlimited)."""
    quota_given = max_caller_numbers is not KEEP
    if quota_given and max_caller_numbers is not None:  # counted afresh: no writer in between
        await conn.execute(queries.LOCK_CALLER_NUMBER_COUNT, tenant_id)
    return await conn.fetchrow(
        queries.UPDATE_TENANT,
        tenant_id,
        name,
        anonymization,
        isolation,
        quota_given,
        max_caller_numbers if quota_given else None,
    )


async def get_tenant(conn: Connection, *, tenant_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(queries.SELECT_TENANT, tenant_id)


async def set_system_parameter(conn: Connection, *, name: str, value: Any) -> asyncpg.Record:
    row = await conn.fetchrow(queries.UPSERT_SYSTEM_PARAMETER, name, value)
    assert row is not None
    return row


async def add_org_unit(
    conn: Connection, *, tenant_id: str, org_unit_id: str, name: str, parent_id: str | None
) -> asyncpg.Record | None:
    return await conn.fetchrow(queries.INSERT_ORG_UNIT, tenant_id, org_unit_id, name, parent_id)


async def list_org_units(conn: Connection, *, tenant_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(queries.SELECT_ORG_UNITS, tenant_id)


async def load_policy(conn: Connection, *, tenant_id: str) -> TenantPolicy | None:
    """The tenant's write rules, read in one statement (every command and request needs
    them); None if there is no such tenant."""
    tenant = await conn.fetchrow(queries.SELECT_TENANT_POLICY, tenant_id, TENANTS_MAY_MAINTAIN)
    if tenant is None:
        return None
    return TenantPolicy(
        tenant_id=tenant_id,
        anonymization_enabled=tenant["calling_number_anonymization"],
        isolation_enforced=tenant["data_isolation_enforced"],
        tenants_may_maintain=tenant["may_maintain"] is True,
        parents=dict(tenant["parents"]),
        names=dict(tenant["names"]),
    )
