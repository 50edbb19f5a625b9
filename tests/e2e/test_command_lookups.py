"""GET /commands/{id} tells the truth: pending from the 202 on, 404 for what the caller never
sent or may not see."""

import httpx
from aiokafka import AIOKafkaProducer
from hypothesis import strategies as st

from tests import factories as f
from tests.generated import draw_examples
from tests.kafka import TopicTap
from tests.signing import send_command

COMMANDS = "/api/v1/commands"


class TestUnknownIds:
    async def test_generated_ids_never_sent_are_404(self, http: httpx.AsyncClient) -> None:
        """The kind: any id, including one another tenant sent."""
        tenant, other = await f.create_tenant(http), await f.create_tenant(http)
        theirs = await f.add_numbers(http, f.tenant_admin(other), ["6001"])
        ids = [theirs["command_id"], *map(str, draw_examples(st.uuids()))]
        for command_id in ids:
            response = await http.get(f"{COMMANDS}/{command_id}", headers=f.tenant_admin(tenant))
            assert response.status_code == 404, command_id
            assert response.json()["error"]["code"] == "not_found"


class TestPendingFromTheFirstAnswer:
    async def test_a_command_answered_202_is_known_at_once(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        for n in range(10):
            accepted = await http.post(
                "/api/v1/caller-numbers", json={"numbers": [f"61{n:02d}"]}, headers=admin
            )
            assert accepted.status_code == 202
            looked_up = await http.get(accepted.headers["Location"], headers=admin)
            assert looked_up.status_code == 200
            assert looked_up.json()["status"] in {"pending", "completed"}

    async def test_an_upstream_command_is_visible_once_processed(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["6201"])
        await send_command(producer, tenant, command.model_dump_json().encode())
        await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        response = await http.get(
            f"{COMMANDS}/{command.message_id}", headers=f.tenant_admin(tenant)
        )
        assert response.json()["status"] == "completed"
        assert response.json()["results"][0]["status"] == "created"


class TestAgentScope:
    async def test_an_agent_sees_its_own_commands_and_those_within_its_ous_only(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(
            http, isolation=True, org_units=[("sales", None), ("hr", None)]
        )
        admin, agent = f.tenant_admin(tenant), f.agent(tenant, org_unit_id="sales")
        into_hr = await f.add_numbers(http, admin, ["6301"], org_unit_id="hr")
        into_sales = await f.add_numbers(http, admin, ["6302"], org_unit_id="sales")
        only_rejected = await f.add_numbers(http, admin, ["63x"], org_unit_id="sales")
        own = await f.add_numbers(http, agent, ["63y"], org_unit_id="sales")

        async def status(body: dict[str, str], headers: dict[str, str]) -> httpx.Response:
            return await http.get(f"{COMMANDS}/{body['command_id']}", headers=headers)

        seen = {
            name: (await status(body, agent)).status_code
            for name, body in {
                "into_hr": into_hr,
                "into_sales": into_sales,
                "only_rejected": only_rejected,
                "own": own,
            }.items()
        }
        assert seen == {"into_hr": 404, "into_sales": 200, "only_rejected": 404, "own": 200}
        assert (await status(into_hr, admin)).status_code == 200
