"""Listing, reading, editing and deleting numbers; one tenant never reaches another's."""

from typing import Any

import httpx
import pytest

from tests import factories as f


async def wait_outcome(http: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return dict(result)


WAIT = {"Prefer": "wait=20"}


class TestListing:
    async def test_the_list_is_paged_newest_first_and_filtered_by_prefix_and_ou(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["1001", "1002"])
        await f.add_numbers(http, admin, ["2001"], org_unit_id="sales")

        page = (await http.get("/api/v1/caller-numbers?limit=2", headers=admin)).json()
        assert page["total"] == 3 and len(page["items"]) == 2
        assert page["items"][0]["number"] == "2001"  # the newest
        rest = (await http.get("/api/v1/caller-numbers?limit=2&offset=2", headers=admin)).json()
        assert len(rest["items"]) == 1

        def numbers(query: str) -> Any:
            return http.get(f"/api/v1/caller-numbers?{query}", headers=admin)

        by_prefix = (await numbers("prefix=100")).json()["items"]
        assert sorted(i["number"] for i in by_prefix) == ["1001", "1002"]
        assert [i["number"] for i in (await numbers("org_unit_id=sales")).json()["items"]] == [
            "2001"
        ]
        unorganized = (await numbers("unorganized=true")).json()["items"]
        assert sorted(i["number"] for i in unorganized) == ["1001", "1002"]

    @pytest.mark.parametrize("query", ["prefix=12a", "limit=0", "limit=501", "offset=-1"])
    async def test_a_bad_query_is_a_validation_error(
        self, http: httpx.AsyncClient, query: str
    ) -> None:
        tenant = await f.create_tenant(http)
        response = await http.get(f"/api/v1/caller-numbers?{query}", headers=f.tenant_admin(tenant))
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"


class TestEditAndDelete:
    async def test_an_edit_changes_ou_and_description_through_a_command(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        [created] = (await f.add_numbers(http, admin, ["3001"], description="old"))["results"]
        url = f"/api/v1/caller-numbers/{created['caller_number']['id']}"

        result = await wait_outcome(
            http,
            await http.patch(url, json={"org_unit_id": "sales"}, headers={**admin, **WAIT}),
        )
        assert result["status"] == "updated"
        assert (await http.get(url, headers=admin)).json()["org_unit_id"] == "sales"
        assert (await http.get(url, headers=admin)).json()["description"] == "old"

        await wait_outcome(
            http,
            await http.patch(
                url, json={"org_unit_id": None, "description": "new"}, headers={**admin, **WAIT}
            ),
        )
        number = (await http.get(url, headers=admin)).json()
        assert number["org_unit_id"] is None and number["description"] == "new"

    async def test_an_edit_into_an_unknown_ou_is_refused(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        [created] = (await f.add_numbers(http, admin, ["3002"]))["results"]
        response = await http.patch(
            f"/api/v1/caller-numbers/{created['caller_number']['id']}",
            json={"org_unit_id": "nowhere"},
            headers=admin,
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "org_unit_not_found"

    async def test_a_deleted_number_is_gone_and_can_be_added_again(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        [created] = (await f.add_numbers(http, admin, ["3003"]))["results"]
        url = f"/api/v1/caller-numbers/{created['caller_number']['id']}"
        result = await wait_outcome(http, await http.delete(url, headers={**admin, **WAIT}))
        assert result["status"] == "deleted"
        response = await http.get(url, headers=admin)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        again = await f.add_numbers(http, admin, ["3003"])
        assert again["results"][0]["status"] == "created"


class TestTenantIsolation:
    async def test_tenant_a_can_neither_see_nor_change_tenant_bs_numbers(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant_a, tenant_b = await f.create_tenant(http), await f.create_tenant(http)
        admin_a, admin_b = f.tenant_admin(tenant_a), f.tenant_admin(tenant_b)
        [created] = (await f.add_numbers(http, admin_b, ["4001"], description="b's"))["results"]
        url = f"/api/v1/caller-numbers/{created['caller_number']['id']}"

        attempts = [
            await http.get(url, headers=admin_a),
            await http.patch(url, json={"description": "a was here"}, headers=admin_a),
            await http.delete(url, headers=admin_a),
        ]
        assert [r.status_code for r in attempts] == [404, 404, 404]
        assert (await http.get("/api/v1/caller-numbers", headers=admin_a)).json()["total"] == 0
        command = await http.get(
            f"/api/v1/commands/{created['caller_number']['id']}", headers=admin_a
        )
        assert command.status_code == 404  # unknown to A: nothing leaks

        number = (await http.get(url, headers=admin_b)).json()
        assert number["description"] == "b's"

    async def test_the_same_number_may_live_in_two_tenants(self, http: httpx.AsyncClient) -> None:
        tenant_a, tenant_b = await f.create_tenant(http), await f.create_tenant(http)
        for tenant in (tenant_a, tenant_b):
            body = await f.add_numbers(http, f.tenant_admin(tenant), ["4002"])
            assert body["results"][0]["status"] == "created"


class TestWhoMayCall:
    async def test_no_token_or_a_bad_one_is_unauthorized(self, http: httpx.AsyncClient) -> None:
        for headers in ({}, f.bearer("nonsense")):
            response = await http.get("/api/v1/caller-numbers", headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"

    async def test_admin_endpoints_are_for_system_admins_only(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        response = await http.patch(
            f"/api/v1/admin/tenants/{tenant}",
            json={"data_isolation_enforced": True},
            headers=f.tenant_admin(tenant),
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"

    async def test_an_agent_without_the_add_permission_is_refused(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        agent = f.agent(tenant, permissions=["caller_number:edit"])
        response = await http.post("/api/v1/caller-numbers", json={"numbers": ["1"]}, headers=agent)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"

    async def test_an_isolated_agent_sees_only_numbers_of_their_ous(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(
            http, isolation=True, org_units=[("sales", None), ("east", "sales"), ("hr", None)]
        )
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["5001"], org_unit_id="east")
        await f.add_numbers(http, admin, ["5002"], org_unit_id="hr")
        await f.add_numbers(http, admin, ["5003"])
        agent = f.agent(tenant, org_unit_id="sales")
        items = (await http.get("/api/v1/caller-numbers", headers=agent)).json()["items"]
        assert [i["number"] for i in items] == ["5001"]
        choosable = (await http.get("/api/v1/org-units", headers=agent)).json()
        assert choosable["unorganized"] is False
        assert sorted(u["id"] for u in choosable["org_units"]) == ["east", "sales"]


class TestAdministration:
    async def test_a_tenant_id_is_taken_once(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        response = await http.post(
            "/api/v1/admin/tenants", json={"id": tenant, "name": "again"}, headers=f.system_admin()
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "conflict"

    async def test_an_ou_needs_an_existing_parent_and_tenant(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        orphan = await http.post(
            f"/api/v1/admin/tenants/{tenant}/org-units",
            json={"id": "x", "name": "X", "parent_id": "missing"},
            headers=f.system_admin(),
        )
        assert orphan.status_code == 422
        assert orphan.json()["error"]["code"] == "org_unit_not_found"
        no_tenant = await http.post(
            "/api/v1/admin/tenants/no-such-tenant/org-units",
            json={"id": "x", "name": "X"},
            headers=f.system_admin(),
        )
        assert no_tenant.status_code == 404

    async def test_an_unknown_system_parameter_is_not_found(self, http: httpx.AsyncClient) -> None:
        response = await http.put(
            "/api/v1/admin/system-parameters/no_such",
            json={"value": True},
            headers=f.system_admin(),
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    async def test_the_openapi_document_is_served(self, http: httpx.AsyncClient) -> None:
        paths = (await http.get("/openapi.json")).json()["paths"]
        assert "/api/v1/caller-numbers" in paths and "/api/v1/commands/{command_id}" in paths
