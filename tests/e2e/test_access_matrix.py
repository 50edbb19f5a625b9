"""Who may do what, table-driven: roles x isolation x OU positions x operations, over HTTP
and over Kafka, against the rules in SPEC.md (and shared/access.py, their one home)."""

from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts import (
    CreateCallerNumbers,
    DeleteCallerNumber,
    Message,
    Principal,
    Role,
    UpdateCallerNumber,
)
from tests import factories as f
from tests import signing
from tests.kafka import TopicTap
from tests.signing import send_command

# sales ─ sales-east ─ sales-east-1      the agent's own OU and its subtree
# support                                listed as accessible to the agent
# marketing                              a sibling of the agent's OU
# hr ─ hr-payroll                        another branch
TREE = [
    ("sales", None),
    ("sales-east", "sales"),
    ("sales-east-1", "sales-east"),
    ("support", None),
    ("marketing", None),
    ("hr", None),
    ("hr-payroll", "hr"),
]
POSITIONS = {
    "own": "sales",
    "sub-ou": "sales-east",
    "sub-sub-ou": "sales-east-1",
    "accessible": "support",
    "sibling": "marketing",
    "other-branch": "hr-payroll",
    "unorganized": None,
}
IN_AGENT_SCOPE = {"own", "sub-ou", "sub-sub-ou", "accessible"}
AGENT_CLAIMS = {"org_unit_id": "sales", "accessible": ["support"]}
_tenants: dict[bool, str] = {}


def allowed(role: str, isolation: bool, position: str) -> bool:
    """The manual's rule, written out independently of the code under test."""
    return role == "tenant_admin" or not isolation or position in IN_AGENT_SCOPE


async def tenant_for(http: httpx.AsyncClient, isolation: bool) -> str:
    if isolation not in _tenants:
        _tenants[isolation] = await f.create_tenant(http, isolation=isolation, org_units=TREE)
    return _tenants[isolation]


def headers_of(role: str, tenant: str) -> dict[str, str]:
    return f.tenant_admin(tenant) if role == "tenant_admin" else f.agent(tenant, **AGENT_CLAIMS)


async def numbers_in(
    http: httpx.AsyncClient, tenant: str, org_unit_id: str | None, count: int
) -> list[Any]:
    digits = [str(uuid4().int)[:15] for _ in range(count)]
    body = await f.add_numbers(http, f.tenant_admin(tenant), digits, org_unit_id=org_unit_id)
    return [r["caller_number"] for r in body["results"]]


CASES = [
    pytest.param(role, isolation, position, id=f"{role}-isolation_{isolation}-{position}")
    for role in ("tenant_admin", "agent")
    for isolation in (True, False)
    for position in POSITIONS
]
WAIT = {"Prefer": "wait=20"}


class TestOverHttp:
    @pytest.mark.parametrize(("role", "isolation", "position"), CASES)
    async def test_add_list_read_edit_delete(
        self, http: httpx.AsyncClient, role: str, isolation: bool, position: str
    ) -> None:
        tenant = await tenant_for(http, isolation)
        org_unit_id, caller = POSITIONS[position], headers_of(role, tenant)
        may = allowed(role, isolation, position)
        to_read, to_edit, to_delete = await numbers_in(http, tenant, org_unit_id, 3)

        added = await http.post(
            "/api/v1/caller-numbers",
            json={"numbers": [str(int(to_read["number"]) + 1)], "org_unit_id": org_unit_id},
            headers={**caller, **WAIT},
        )
        listed = await http.get("/api/v1/caller-numbers?limit=500", headers=caller)
        read = await http.get(f"/api/v1/caller-numbers/{to_read['id']}", headers=caller)
        edited = await http.patch(
            f"/api/v1/caller-numbers/{to_edit['id']}",
            json={"description": "edited"},
            headers={**caller, **WAIT},
        )
        deleted = await http.delete(
            f"/api/v1/caller-numbers/{to_delete['id']}", headers={**caller, **WAIT}
        )
        visible = {item["id"] for item in listed.json()["items"]}
        if may:
            assert added.status_code == 200 and added.json()["results"][0]["status"] == "created"
            assert to_read["id"] in visible and read.status_code == 200
            assert edited.json()["results"][0]["status"] == "updated"
            assert deleted.json()["results"][0]["status"] == "deleted"
        else:
            assert added.status_code == 403
            assert added.json()["error"]["code"] == "forbidden_org_unit"
            assert to_read["id"] not in visible
            assert [read.status_code, edited.status_code, deleted.status_code] == [404, 404, 404]

    @pytest.mark.parametrize(("role", "isolation", "position"), CASES)
    async def test_the_drop_down_offers_exactly_the_allowed_ous(
        self, http: httpx.AsyncClient, role: str, isolation: bool, position: str
    ) -> None:
        tenant = await tenant_for(http, isolation)
        choosable = (await http.get("/api/v1/org-units", headers=headers_of(role, tenant))).json()
        offered = {u["id"] for u in choosable["org_units"]} | (
            {None} if choosable["unorganized"] else set()
        )
        assert (POSITIONS[position] in offered) == allowed(role, isolation, position)


class TestOperationPermissions:
    @pytest.mark.parametrize("granted", [True, False], ids=["granted", "not-granted"])
    @pytest.mark.parametrize("operation", ["add", "edit", "delete", "import"])
    async def test_each_write_needs_its_own_permission(
        self, http: httpx.AsyncClient, operation: str, granted: bool
    ) -> None:
        tenant = await tenant_for(http, False)
        others = [p for p in ("add", "edit", "delete", "import") if p != operation]
        permissions = [f"caller_number:{p}" for p in ([operation] if granted else others)]
        agent = f.agent(tenant, permissions=permissions)
        [number] = await numbers_in(http, tenant, None, 1)
        url = f"/api/v1/caller-numbers/{number['id']}"
        response = {
            "add": lambda: http.post(
                "/api/v1/caller-numbers", json={"numbers": ["7"]}, headers=agent
            ),
            "edit": lambda: http.patch(url, json={"description": "x"}, headers=agent),
            "delete": lambda: http.delete(url, headers=agent),
            "import": lambda: http.post(
                "/api/v1/caller-number-imports", files={"file": ("a.csv", b"x")}, headers=agent
            ),
        }[operation]
        assert (await http.get(url, headers=agent)).status_code == 200  # reading needs none
        answer = await response()
        if granted:
            assert answer.status_code == 202, answer.text
        else:
            assert answer.status_code == 403
            assert answer.json()["error"]["code"] == "permission_denied"


def command_as(principal: Principal, tenant: str, kind: str, **fields: Any) -> Message:
    model = {
        "create": CreateCallerNumbers,
        "update": UpdateCallerNumber,
        "delete": DeleteCallerNumber,
    }
    return model[kind](tenant_id=tenant, principal=principal, **fields)


class TestOverKafka:
    @pytest.mark.parametrize(("role", "isolation", "position"), CASES)
    async def test_commands_published_straight_onto_kafka_obey_the_same_rules(
        self,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
        role: str,
        isolation: bool,
        position: str,
    ) -> None:
        tenant = await tenant_for(http, isolation)
        org_unit_id, may = POSITIONS[position], allowed(role, isolation, position)
        principal = Principal(
            sub="upstream",
            role=Role(role),
            org_unit_id="sales" if role == "agent" else None,
            accessible_org_unit_ids=("support",) if role == "agent" else (),
            permissions=tuple(f.ALL_PERMISSIONS),
        )
        to_edit, to_delete = await numbers_in(http, tenant, org_unit_id, 2)
        commands = [
            command_as(
                principal,
                tenant,
                "create",
                numbers=[str(int(to_edit["number"]) + 1)],
                org_unit_id=org_unit_id,
            ),
            command_as(
                principal,
                tenant,
                "update",
                number=to_edit["number"],
                org_unit_id=org_unit_id,
                description="edited",
            ),
            command_as(principal, tenant, "delete", number=to_delete["number"]),
        ]
        for command in commands:
            # Signed by the gateway's key, as for a user it authenticated: the principal is theirs.
            await send_command(
                producer, tenant, command.model_dump_json().encode(), signer=signing.gateway()
            )
        ids = [str(command.message_id) for command in commands]
        found = await events.wait_for(lambda e: e.get("command_id") in ids, count=3)
        outcome = {e["command_id"]: (e["type"], e.get("reason")) for e in found}
        if may:
            assert [outcome[i][0] for i in ids] == ["created", "updated", "deleted"]
        else:
            # The update names an OU out of scope as its target: refused for that first.
            assert [outcome[i] for i in ids] == [
                ("rejected", "forbidden_org_unit"),
                ("rejected", "forbidden_org_unit"),
                ("rejected", "not_found"),
            ]
