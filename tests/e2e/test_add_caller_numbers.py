"""Adding numbers through the HTTP API, on the real gateway, Kafka, registry and PostgreSQL."""

import json
from typing import Any

import httpx
import pytest

from tests import factories as f
from tests.generated import draw_examples, number_requests, unstorable_text
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


class TestEachNumberOnItsOwn:
    async def test_generated_requests_get_one_outcome_per_number_with_its_reason(
        self, http: httpx.AsyncClient
    ) -> None:
        """The kind: any mix of good, empty, non-digit, too long and repeated numbers."""
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        for request in draw_examples(number_requests()):
            body = await f.add_numbers(http, admin, [number for number, _ in request])
            assert len(body["results"]) == len(request)
            for (number, reason), result in zip(request, body["results"], strict=True):
                assert result["number"] == number.strip()
                if reason is None:  # new, or added by an earlier request of this test
                    assert (result["status"], result["reason"]) in {
                        ("created", None),
                        ("rejected", "duplicate"),
                    }
                else:
                    assert (result["status"], result["reason"]) == ("rejected", reason)
                    assert result["message"]

    @pytest.mark.parametrize(
        ("numbers", "reason"),
        [
            (["12a"], "not_digits"),
            (["+8613800000000"], "not_digits"),
            (["1" * 25], "too_long"),
            (["  "], "empty"),
            ([""], "empty"),
            (["5", "5"], "repeated_in_request"),
        ],
    )
    async def test_a_malformed_number_is_rejected_alone_and_the_others_are_added(
        self, http: httpx.AsyncClient, numbers: list[str], reason: str
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        body = await f.add_numbers(http, admin, ["999", *numbers])
        statuses = [(r["status"], r["reason"]) for r in body["results"]]
        assert statuses[0] == ("created", None)
        assert statuses[-1] == ("rejected", reason)
        listed = await http.get("/api/v1/caller-numbers", headers=admin)
        assert sorted(i["number"] for i in listed.json()["items"]) == sorted(
            {"999", *(n for n in numbers if reason == "repeated_in_request")}
        )

    async def test_of_a_repeated_number_the_first_counts(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        body = await f.add_numbers(http, f.tenant_admin(tenant), ["7", " 7", "8", "7 "])
        assert [(r["number"], r["status"], r["reason"]) for r in body["results"]] == [
            ("7", "created", None),
            ("7", "rejected", "repeated_in_request"),
            ("8", "created", None),
            ("7", "rejected", "repeated_in_request"),
        ]


class TestRequestsRefusedWhole:
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

    async def test_generated_text_postgresql_cannot_hold_is_refused_at_the_edge(
        self, http: httpx.AsyncClient
    ) -> None:
        """The kind: NUL or a lone surrogate anywhere in a number, the OU or the description."""
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        for bad in draw_examples(unstorable_text):
            for body, code in [
                ({"numbers": ["1", bad]}, "validation_error"),
                ({"numbers": ["1"], "org_unit_id": bad}, "validation_error"),
                ({"numbers": ["1"], "description": bad}, "description_invalid"),
            ]:
                raw = json.dumps(body)  # "\ud83d" escaped, as a client sends it
                response = await http.post(
                    "/api/v1/caller-numbers",
                    content=raw,
                    headers={**admin, "Content-Type": "application/json"},
                )
                assert response.status_code == 422, (body, response.text)
                assert response.json()["error"]["code"] == code
        listed = await http.get("/api/v1/caller-numbers", headers=admin)
        assert listed.json()["total"] == 0

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"numbers": ["1\u0000"]}, "NUL"),
            ({"numbers": ["\ud83d"]}, "surrogate"),
            ({"numbers": ["1"], "org_unit_id": "\ud83d"}, "surrogate"),
            ({"numbers": ["1" * 65]}, "at most 64 characters"),
        ],
    )
    async def test_a_string_no_one_typed_is_a_422_naming_the_field(
        self, http: httpx.AsyncClient, body: dict[str, Any], message: str
    ) -> None:
        tenant = await f.create_tenant(http)
        response = await http.post(
            "/api/v1/caller-numbers",
            content=json.dumps(body),
            headers={**f.tenant_admin(tenant), "Content-Type": "application/json"},
        )
        assert response.status_code == 422
        [detail] = response.json()["error"]["details"]
        assert message in detail["message"] and detail["loc"][:2] == ["body", list(body)[-1]]

    async def test_a_lone_surrogate_in_the_description_is_refused_with_its_code(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        response = await http.post(
            "/api/v1/caller-numbers",
            content='{"numbers": ["1"], "description": "smile \\ud83d"}',
            headers={**f.tenant_admin(tenant), "Content-Type": "application/json"},
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "description_invalid"

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


class TestEmptyOrgUnitMeansUnorganized:
    @pytest.mark.parametrize("body", [{}, {"org_unit_id": None}, {"org_unit_id": ""}])
    async def test_null_omitted_and_empty_all_add_to_unorganized(
        self, http: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        result = await f.add_numbers(http, f.tenant_admin(tenant), ["4001"], **body)
        [created] = result["results"]
        assert created["status"] == "created" and created["caller_number"]["org_unit_id"] is None

    async def test_an_empty_ou_is_refused_to_an_agent_who_may_not_use_unorganized(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, isolation=True, org_units=[("sales", None)])
        response = await http.post(
            "/api/v1/caller-numbers",
            json={"numbers": ["4002"], "org_unit_id": ""},
            headers=f.agent(tenant, org_unit_id="sales"),
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden_org_unit"

    async def test_an_edit_with_an_empty_ou_moves_the_number_to_unorganized(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        added = await f.add_numbers(http, admin, ["4003"], org_unit_id="sales")
        number_id = added["results"][0]["caller_number"]["id"]
        response = await http.patch(
            f"/api/v1/caller-numbers/{number_id}",
            json={"org_unit_id": ""},
            headers={**admin, "Prefer": "wait=20"},
        )
        assert response.status_code == 200, response.text
        [updated] = response.json()["results"]
        assert updated["status"] == "updated" and updated["caller_number"]["org_unit_id"] is None


class TestRepeatedJsonKeys:
    async def test_a_body_naming_numbers_twice_is_422_and_adds_nothing(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = {**f.tenant_admin(tenant), "Content-Type": "application/json"}
        body = '{"numbers": ["6000002"], "numbers": ["6000003"]}'
        response = await http.post("/api/v1/caller-numbers", content=body, headers=admin)
        assert response.status_code == 422, response.text
        [detail] = response.json()["error"]["details"]
        assert detail["type"] == "json_invalid" and "'numbers'" in detail["message"]
        listed = await http.get("/api/v1/caller-numbers", headers=f.tenant_admin(tenant))
        assert listed.json()["total"] == 0
