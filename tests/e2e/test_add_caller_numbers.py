"""Adding numbers through the HTTP API, on the real gateway, Kafka, registry and PostgreSQL."""

from typing import Any

import httpx
import pytest

from tests import factories as f
from tests.waiting import deadline


async def poll_command(http: httpx.AsyncClient, location: str, headers: dict[str, str]) -> Any:
    """Poll the Location as a client would, until the outcome is there (30 s at most)."""
    async for _ in deadline(30):
        body = (await http.get(location, headers=headers)).json()
        if body["status"] == "completed":
            return body
    raise AssertionError(f"{location} not completed: {body}")


class TestAddingNumbers:
    async def test_an_add_answers_202_with_a_location_that_ends_completed(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        response = await http.post(
            "/api/v1/caller-numbers", json={"numbers": ["0123456789"]}, headers=admin
        )
        assert response.status_code == 202
        assert response.json()["status"] == "pending"
        location = response.headers["Location"]
        assert location == f"/api/v1/commands/{response.json()['command_id']}"
        body = await poll_command(http, location, admin)
        [result] = body["results"]
        assert result["status"] == "created" and result["caller_number"]["number"] == "0123456789"

    async def test_prefer_wait_answers_with_each_numbers_outcome(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["111"])
        body = await f.add_numbers(http, admin, ["222", "111", " 333 "], description="desk")
        outcomes = {r["number"]: (r["status"], r["reason"]) for r in body["results"]}
        assert outcomes == {
            "222": ("created", None),
            "111": ("rejected", "duplicate"),
            "333": ("created", None),
        }
        created = [r["caller_number"] for r in body["results"] if r["status"] == "created"]
        assert all(c["description"] == "desk" and c["org_unit_id"] is None for c in created)

    async def test_a_number_goes_into_the_chosen_ou(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        body = await f.add_numbers(http, f.tenant_admin(tenant), ["444"], org_unit_id="sales")
        assert body["results"][0]["caller_number"]["org_unit_id"] == "sales"


class TestRequestsRefusedWhole:
    @pytest.mark.parametrize(
        ("numbers", "reason"),
        [
            (["12a"], "not_digits"),
            (["+8613800000000"], "not_digits"),
            (["1" * 25], "too_long"),
            (["  "], "empty"),
            (["5", "5"], "repeated_in_request"),
        ],
    )
    async def test_a_malformed_number_is_named_with_its_reason(
        self, http: httpx.AsyncClient, numbers: list[str], reason: str
    ) -> None:
        tenant = await f.create_tenant(http)
        response = await http.post(
            "/api/v1/caller-numbers",
            json={"numbers": ["999", *numbers]},
            headers=f.tenant_admin(tenant),
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid_numbers"
        assert [d["reason"] for d in error["details"]] == [reason]
        assert error["details"][0]["index"] == len(numbers)

    @pytest.mark.parametrize(
        "body",
        [
            {"numbers": []},
            {"numbers": [str(n) for n in range(101)]},
            {"numbers": ["1"], "unknown": True},
            {"numbers": "123"},
        ],
        ids=["none", "101", "unknown-field", "not-a-list"],
    )
    async def test_a_bad_shape_is_a_validation_error(
        self, http: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        tenant = await f.create_tenant(http)
        response = await http.post(
            "/api/v1/caller-numbers", json=body, headers=f.tenant_admin(tenant)
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"

    async def test_a_24_digit_number_and_100_numbers_are_accepted(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        numbers = ["9" * 24] + [f"{n:06d}" for n in range(99)]
        body = await f.add_numbers(http, f.tenant_admin(tenant), numbers)
        assert [r["status"] for r in body["results"]] == ["created"] * 100

    @pytest.mark.parametrize(
        ("description", "code"),
        [("x" * 256, "description_too_long"), ("nul\u0000byte", "description_invalid")],
    )
    async def test_a_bad_description_is_refused_with_its_code(
        self, http: httpx.AsyncClient, description: str, code: str
    ) -> None:
        tenant = await f.create_tenant(http)
        response = await http.post(
            "/api/v1/caller-numbers",
            json={"numbers": ["1"], "description": description},
            headers=f.tenant_admin(tenant),
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == code

    async def test_an_unknown_ou_is_refused(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        response = await http.post(
            "/api/v1/caller-numbers",
            json={"numbers": ["1"], "org_unit_id": "nowhere"},
            headers=f.tenant_admin(tenant),
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "org_unit_not_found"


class TestPrerequisites:
    async def test_writes_are_refused_while_anonymization_is_off_and_reads_still_work(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        [created] = (await f.add_numbers(http, admin, ["555"]))["results"]
        response = await http.patch(
            f"/api/v1/admin/tenants/{tenant}",
            json={"calling_number_anonymization": False},
            headers=f.system_admin(),
        )
        assert response.status_code == 200
        number_url = f"/api/v1/caller-numbers/{created['caller_number']['id']}"
        refused = [
            await http.post("/api/v1/caller-numbers", json={"numbers": ["6"]}, headers=admin),
            await http.patch(number_url, json={"description": "x"}, headers=admin),
            await http.delete(number_url, headers=admin),
        ]
        assert [r.status_code for r in refused] == [403, 403, 403]
        assert {r.json()["error"]["code"] for r in refused} == {"feature_disabled"}
        assert (await http.get(number_url, headers=admin)).status_code == 200
        listed = await http.get("/api/v1/caller-numbers", headers=admin)
        assert listed.json()["total"] == 1

    async def test_the_system_parameter_no_refuses_every_tenant(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        url = "/api/v1/admin/system-parameters/allowing_tenants_to_maintain_calling_numbers"
        await http.put(url, json={"value": False}, headers=f.system_admin())
        try:
            response = await http.post(
                "/api/v1/caller-numbers", json={"numbers": ["7"]}, headers=f.tenant_admin(tenant)
            )
        finally:
            await http.put(url, json={"value": True}, headers=f.system_admin())
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "feature_disabled"
