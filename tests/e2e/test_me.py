"""GET /api/v1/me: what the page may offer the caller, and whether their tenant allows writes."""

import httpx

from tests import factories as f


async def me(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await http.get("/api/v1/me", headers=headers)


class TestMe:
    async def test_a_tenant_administrator_has_every_permission_and_writes_are_on(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        body = (await me(http, f.tenant_admin(tenant))).json()
        assert body["tenant_id"] == tenant and body["role"] == "tenant_admin"
        assert sorted(body["permissions"]) == sorted(f.ALL_PERMISSIONS)
        assert body["writes_enabled"] is True and body["writes_disabled_message"] is None

    async def test_an_agent_has_the_permissions_granted_and_their_org_unit(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        agent = f.agent(tenant, org_unit_id="sales", permissions=["caller_number:add"])
        body = (await me(http, agent)).json()
        assert body["permissions"] == ["caller_number:add"] and body["org_unit_id"] == "sales"

    async def test_writes_are_off_with_the_reason_while_a_prerequisite_is_off(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, anonymization=False)
        body = (await me(http, f.tenant_admin(tenant))).json()
        assert body["writes_enabled"] is False
        assert "Calling Number Anonymization" in body["writes_disabled_message"]

    async def test_it_is_for_a_tenant_s_users_only(self, http: httpx.AsyncClient) -> None:
        assert (await me(http, f.system_admin())).status_code == 403
        assert (await me(http, {})).status_code == 401
        unknown = await me(http, f.tenant_admin(f.unique("no-such-tenant")))
        assert unknown.status_code == 404
