"""Builders for test data: tokens, tenants with their OU trees, commands."""

from typing import Any
from uuid import uuid4

import httpx

from services.api_gateway.mint_token import mint
from shared.access import Operation
from shared.contracts import CreateCallerNumbers, Principal, Role

ALL_PERMISSIONS = [operation.value for operation in Operation]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:10]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def system_admin() -> dict[str, str]:
    return bearer(mint(sub="root", role="system_admin"))


def tenant_admin(tenant_id: str) -> dict[str, str]:
    return bearer(mint(sub=unique("admin"), role="tenant_admin", tenant_id=tenant_id))


def agent(
    tenant_id: str,
    *,
    org_unit_id: str | None = None,
    accessible: list[str] | None = None,
    permissions: list[str] | None = None,
) -> dict[str, str]:
    token = mint(
        sub=unique("agent"),
        role="agent",
        tenant_id=tenant_id,
        org_unit_id=org_unit_id,
        accessible_org_unit_ids=accessible,
        permissions=ALL_PERMISSIONS if permissions is None else permissions,
    )
    return bearer(token)


async def create_tenant(
    http: httpx.AsyncClient,
    *,
    anonymization: bool = True,
    isolation: bool = False,
    org_units: list[tuple[str, str | None]] = (),  # type: ignore[assignment]
) -> str:
    """A new tenant; `org_units` as (id, parent id) pairs, parents first."""
    tenant_id = unique("tenant")
    body = {
        "id": tenant_id,
        "name": f"Tenant {tenant_id}",
        "calling_number_anonymization": anonymization,
        "data_isolation_enforced": isolation,
    }
    response = await http.post("/api/v1/admin/tenants", json=body, headers=system_admin())
    assert response.status_code == 201, response.text
    for org_unit_id, parent_id in org_units:
        response = await http.post(
            f"/api/v1/admin/tenants/{tenant_id}/org-units",
            json={"id": org_unit_id, "name": f"OU {org_unit_id}", "parent_id": parent_id},
            headers=system_admin(),
        )
        assert response.status_code == 201, response.text
    return tenant_id


# The upstream system whose key the tests sign with (tests/signing.py).
UPSTREAM = Principal(sub="crm", role=Role.SERVICE)


def create_command(
    tenant_id: str, numbers: list[str], *, principal: Principal = UPSTREAM, **fields: Any
) -> CreateCallerNumbers:
    return CreateCallerNumbers(tenant_id=tenant_id, principal=principal, numbers=numbers, **fields)


async def add_numbers(
    http: httpx.AsyncClient, headers: dict[str, str], numbers: list[str], **fields: Any
) -> dict[str, Any]:
    """Add through the API and wait for the outcome."""
    response = await http.post(
        "/api/v1/caller-numbers",
        json={"numbers": numbers, **fields},
        headers={**headers, "Prefer": "wait=20"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
