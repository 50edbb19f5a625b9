"""The audit history end to end: changes made through the API and imports, read back per number
and tenant-wide (filters, cursor, CSV), under the numbers' own access rules."""

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests import factories as f
from tests import files
from tests.e2e.test_imports import finished, upload

WAIT = {"Prefer": "wait=20"}


async def history(http: httpx.AsyncClient, headers: dict[str, str], number_id: str) -> Any:
    response = await http.get(f"/api/v1/caller-numbers/{number_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def add_one(
    http: httpx.AsyncClient, headers: dict[str, str], number: str, **fields: Any
) -> Any:
    [result] = (await f.add_numbers(http, headers, [number], **fields))["results"]
    assert result["status"] == "created", result
    return result


class TestOneNumber:
    async def test_created_edited_and_deleted_each_with_who_and_the_command_and_kept_after_delete(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        added = await f.add_numbers(http, admin, ["02150001"], description="hotline")
        number_id = added["results"][0]["caller_number"]["id"]
        edit = await http.patch(
            f"/api/v1/caller-numbers/{number_id}",
            json={"org_unit_id": "sales", "description": "sales line"},
            headers={**admin, **WAIT},
        )
        assert edit.status_code == 200, edit.text
        deleted = await http.delete(
            f"/api/v1/caller-numbers/{number_id}", headers={**admin, **WAIT}
        )
        assert deleted.status_code == 200, deleted.text

        page = await history(http, admin, number_id)
        assert [r["action"] for r in page["items"]] == ["deleted", "updated", "created"]
        assert [r["command_id"] for r in page["items"]] == [
            deleted.json()["command_id"],
            edit.json()["command_id"],
            added["command_id"],
        ]
        gone, updated, created = page["items"]
        assert updated["before"] == {"org_unit_id": None, "description": "hotline"}
        assert updated["after"] == {"org_unit_id": "sales", "description": "sales line"}
        assert created["before"] is None and gone["after"] is None
        assert {r["principal_role"] for r in page["items"]} == {"tenant_admin"}
        assert page["next_cursor"] is None

    async def test_a_number_out_of_scope_or_of_another_tenant_has_no_history_to_show(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(
            http, isolation=True, org_units=[("sales", None), ("support", None)]
        )
        admin = f.tenant_admin(tenant)
        result = await add_one(http, admin, "777", org_unit_id="support")
        number_id = result["caller_number"]["id"]
        agent = f.agent(tenant, org_unit_id="sales")
        response = await http.get(f"/api/v1/caller-numbers/{number_id}/history", headers=agent)
        assert response.status_code == 404
        other = f.tenant_admin(await f.create_tenant(http))
        response = await http.get(f"/api/v1/caller-numbers/{number_id}/history", headers=other)
        assert response.status_code == 404


class TestTenantWide:
    async def test_filters_by_number_principal_and_time_and_pages_with_a_cursor(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        alice, bob = f.tenant_admin(tenant), f.tenant_admin(tenant)
        before = datetime.now(UTC) - timedelta(seconds=5)
        for number in ("101", "102", "103"):
            await add_one(http, alice, number)
        await add_one(http, bob, "201")

        def audit(query: str) -> Any:
            return http.get(f"/api/v1/audit?{query}", headers=alice)

        first = (await audit("limit=2")).json()
        assert [r["number"] for r in first["items"]] == ["201", "103"]
        rest = (await audit(f"limit=2&cursor={first['next_cursor']}")).json()
        assert [r["number"] for r in rest["items"]] == ["102", "101"]
        assert (await audit("number=1-02")).json()["items"][0]["number"] == "102"
        bob_sub = (await audit("number=201")).json()["items"][0]["principal_sub"]
        assert [r["number"] for r in (await audit(f"principal={bob_sub}")).json()["items"]] == [
            "201"
        ]
        later = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
        timed = await http.get(
            "/api/v1/audit",
            params={"changed_from": before.isoformat(), "changed_until": later},
            headers=alice,
        )
        assert len(timed.json()["items"]) == 4
        future = await http.get("/api/v1/audit", params={"changed_from": later}, headers=alice)
        assert future.json()["items"] == []

    async def test_the_csv_export_has_every_matching_record_with_its_source(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await add_one(http, admin, "301", description="=cmd()")
        task = await upload(http, admin, files.csv(["Caller Number", "302", "303"]), name="n.csv")
        await finished(http, admin, task["id"])
        response = await http.get("/api/v1/audit/export", headers=admin)
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/csv"
        )
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        by_number = {row["Caller Number"]: row for row in rows}
        assert set(by_number) == {"301", "302", "303"}
        assert by_number["301"]["Description After"] == "'=cmd()"  # never a formula
        assert by_number["303"]["Import Task"] == task["id"]
        assert by_number["303"]["Import Row"] == "3"
        assert by_number["301"]["Command"] and not by_number["301"]["Import Task"]

    async def test_an_agent_sees_only_the_changes_in_its_org_units(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(
            http, isolation=True, org_units=[("sales", None), ("support", None)]
        )
        admin = f.tenant_admin(tenant)
        await add_one(http, admin, "401", org_unit_id="sales")
        await add_one(http, admin, "402", org_unit_id="support")
        agent = f.agent(tenant, org_unit_id="sales")
        items = (await http.get("/api/v1/audit", headers=agent)).json()["items"]
        assert [r["number"] for r in items] == ["401"]

    async def test_a_bad_cursor_or_time_is_a_validation_error(
        self, http: httpx.AsyncClient
    ) -> None:
        admin = f.tenant_admin(await f.create_tenant(http))
        for query in (
            {"cursor": "abc"},
            {"changed_from": "yesterday"},
            {"changed_until": "9999-12-31T23:59:59-23:59"},  # past the calendar in UTC
            {"limit": "0"},
            {"number": "12a"},
            {"principal": "a\x00b"},
        ):
            response = await http.get("/api/v1/audit", params=query, headers=admin)
            assert response.status_code == 422, query
            assert response.json()["error"]["code"] == "validation_error"
