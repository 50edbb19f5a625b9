"""Bulk delete and bulk move over HTTP and Kafka: per-number outcomes, chunked "all matching"
operations with paged outcomes, scope and rights, hostile requests."""

from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts import MoveCallerNumbers, Principal, Role
from tests import factories as f
from tests.kafka import TopicTap
from tests.signing import send_command
from tests.waiting import deadline

BULK = "/api/v1/caller-number-bulk-operations"


async def start(http: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    response = await http.post(BULK, json=body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"{BULK}/{response.json()['id']}"
    return str(response.json()["id"])


async def finished(
    http: httpx.AsyncClient, headers: dict[str, str], operation_id: str
) -> dict[str, Any]:
    async for _ in deadline(60, every=0.2):
        operation: dict[str, Any] = (
            await http.get(f"{BULK}/{operation_id}", headers=headers)
        ).json()
        if operation["status"] == "completed":
            return operation
    raise AssertionError(f"bulk operation {operation_id} never completed")


async def numbers_of(
    http: httpx.AsyncClient, headers: dict[str, str], query: str = ""
) -> list[str]:
    page = await http.get(f"/api/v1/caller-numbers?limit=500&sort=number&{query}", headers=headers)
    return [item["number"] for item in page.json()["items"]]


async def seed(db: asyncpg.Pool, tenant: str, numbers: list[str]) -> None:
    """Many numbers in one statement (the registry's own add path is tested elsewhere)."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
        await conn.execute(
            "INSERT INTO caller_number (tenant_id, number) SELECT $1, unnest($2::text[])",
            tenant,
            numbers,
        )


class TestSelectedNumbers:
    async def test_moving_ten_selected_numbers_gives_each_its_outcome(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        selected = [f"3100{n:02d}" for n in range(10)]
        await f.add_numbers(http, admin, [*selected, "319999"], description="kept")
        body = {"action": "move", "org_unit_id": "sales", "numbers": [*selected, "318888", "31x"]}
        operation = await finished(http, admin, await start(http, admin, body))

        assert operation["total"] == 12 and operation["commands"] == 1
        assert operation["counts"] == {"updated": 10, "rejected": 2}
        page = (await http.get(f"{BULK}/{operation['id']}/outcomes", headers=admin)).json()
        assert [(o["number"], o["status"]) for o in page["items"]] == [
            *((n, "updated") for n in selected),
            ("318888", "rejected"),
            ("31x", "rejected"),
        ]
        assert [o["reason"] for o in page["items"][-2:]] == ["not_found", "not_digits"]
        assert page["items"][0]["caller_number"]["description"] == "kept"  # only the OU moves
        assert await numbers_of(http, admin, "org_unit_id=sales") == selected

    async def test_deleting_selected_numbers_leaves_the_rest(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["3201", "3202", "3203"])
        body = {"action": "delete", "numbers": ["3201", "3203", "3201"]}
        operation = await finished(http, admin, await start(http, admin, body))
        assert operation["counts"] == {"deleted": 2, "rejected": 1}  # the repeat is refused
        rejected = await http.get(
            f"{BULK}/{operation['id']}/outcomes?status=rejected", headers=admin
        )
        assert [o["reason"] for o in rejected.json()["items"]] == ["repeated_in_request"]
        assert await numbers_of(http, admin) == ["3202"]


class TestAllMatching:
    async def test_all_matching_is_fixed_at_once_and_sent_in_chunks_with_paged_outcomes(
        self, http: httpx.AsyncClient, db: asyncpg.Pool
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None), ("east", "sales")])
        admin = f.tenant_admin(tenant)
        matching = [f"44{n:05d}" for n in range(2500)]
        await seed(db, tenant, [*matching, "4500000", "4600000"])
        body = {"action": "move", "org_unit_id": "east", "filter": {"prefix": "44"}}
        operation = await finished(http, admin, await start(http, admin, body))
        assert (operation["total"], operation["commands"]) == (2500, 3)
        assert operation["counts"] == {"updated": 2500}
        last = (
            await http.get(
                f"{BULK}/{operation['id']}/outcomes?limit=1000&offset=2000", headers=admin
            )
        ).json()
        assert last["total"] == 2500 and len(last["items"]) == 500
        assert last["items"][-1]["number"] == matching[-1]  # in the order sent: by number

        moved = (
            await http.get(
                "/api/v1/caller-numbers?org_unit_id=sales&include_sub_units=true", headers=admin
            )
        ).json()
        assert moved["total"] == 2500
        delete = {
            "action": "delete",
            "filter": {"org_unit_id": "sales", "include_sub_units": True, "contains": "00000"},
        }
        operation = await finished(http, admin, await start(http, admin, delete))
        assert operation["counts"] == {"deleted": 1}  # 4400000 only: 45… and 46… are not in sales
        assert await numbers_of(http, admin, "contains=00000") == ["4500000", "4600000"]

    async def test_a_filter_that_matches_nothing_is_refused(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        body = {"action": "delete", "filter": {"prefix": "99"}}
        response = await http.post(BULK, json=body, headers=f.tenant_admin(tenant))
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "nothing_matches"


class TestScopeAndRights:
    async def test_an_agent_touches_only_numbers_in_their_ous(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(
            http, isolation=True, org_units=[("sales", None), ("support", None)]
        )
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["5101"], org_unit_id="sales")
        await f.add_numbers(http, admin, ["5102"], org_unit_id="support")
        agent = f.agent(tenant, org_unit_id="sales")
        operation = await finished(
            http, agent, await start(http, agent, {"action": "delete", "numbers": ["5101", "5102"]})
        )
        assert operation["counts"] == {"deleted": 1, "rejected": 1}  # support's: as if absent
        # "All matching" for the agent is all of their OUs: support's number is not in it.
        everything = await http.post(BULK, json={"action": "delete", "filter": {}}, headers=agent)
        assert everything.json()["error"]["code"] == "nothing_matches"
        assert await numbers_of(http, admin) == ["5102"]

    @pytest.mark.parametrize(
        ("permissions", "body", "code"),
        [
            (["caller_number:edit"], {"action": "delete", "numbers": ["1"]}, "permission_denied"),
            (["caller_number:delete"], {"action": "move", "numbers": ["1"]}, "permission_denied"),
            (
                ["caller_number:edit"],
                {"action": "move", "org_unit_id": "support", "numbers": ["1"]},
                "forbidden_org_unit",
            ),
        ],
    )
    async def test_a_refused_bulk_operation_sends_nothing(
        self, http: httpx.AsyncClient, permissions: list[str], body: dict[str, Any], code: str
    ) -> None:
        tenant = await f.create_tenant(
            http, isolation=True, org_units=[("sales", None), ("support", None)]
        )
        agent = f.agent(tenant, org_unit_id="sales", permissions=permissions)
        response = await http.post(BULK, json=body, headers=agent)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == code

    async def test_another_users_bulk_operation_is_not_found(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["5201"])
        operation_id = await start(http, admin, {"action": "delete", "numbers": ["5201"]})
        for path in (f"{BULK}/{operation_id}", f"{BULK}/{operation_id}/outcomes"):
            assert (await http.get(path, headers=f.tenant_admin(tenant))).status_code == 404
            other = f.tenant_admin(await f.create_tenant(http))
            assert (await http.get(path, headers=other)).status_code == 404


class TestHostileRequests:
    @pytest.mark.parametrize(
        "body",
        [
            {"action": "delete"},
            {"action": "delete", "numbers": ["1"], "filter": {}},
            {"action": "delete", "numbers": []},
            {"action": "delete", "numbers": ["1"] * 1001},
            {"action": "delete", "org_unit_id": "sales", "numbers": ["1"]},
            {"action": "drop", "numbers": ["1"]},
            {"action": "move", "filter": {"prefix": "1%"}},
            {"action": "move", "filter": {"sort": "number"}},
            {"action": "move", "numbers": ["1\x00"]},
        ],
    )
    async def test_a_malformed_request_is_a_422(
        self, http: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        response = await http.post(BULK, json=body, headers=f.tenant_admin(tenant))
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "validation_error"

    async def test_an_unknown_outcome_status_is_a_422(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["5301"])
        operation_id = await start(http, admin, {"action": "delete", "numbers": ["5301"]})
        response = await http.get(f"{BULK}/{operation_id}/outcomes?status=lost", headers=admin)
        assert response.status_code == 422


class TestOverKafka:
    async def test_an_upstream_move_command_is_answered_per_number_on_the_events_topic(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["5401", "5402"])
        command = MoveCallerNumbers(
            tenant_id=tenant,
            principal=Principal(sub="upstream-crm", role=Role.SERVICE),
            numbers=["5401", "5402", "5499"],
            org_unit_id="sales",
        )
        await send_command(producer, tenant, command.model_dump_json().encode())
        found = await events.wait_for(
            lambda e: e.get("command_id") == str(command.message_id), count=3
        )
        assert sorted(
            (e["type"], e.get("number") or e["caller_number"]["number"]) for e in found
        ) == [
            ("rejected", "5499"),
            ("updated", "5401"),
            ("updated", "5402"),
        ]
        assert await numbers_of(http, admin, "org_unit_id=sales") == ["5401", "5402"]
