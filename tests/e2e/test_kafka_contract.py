"""Commands straight onto Kafka, as upstream systems send them: events, once only, dead letters."""

import asyncio
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from shared import topics
from shared.contracts import DeleteCallerNumber, UpdateCallerNumber
from shared.db.pool import tenant_transaction
from tests import factories as f
from tests import signing
from tests.generated import draw_examples, number_requests, wrong_fields
from tests.kafka import TopicTap
from tests.processes import ServiceProcess
from tests.signing import send_command, signed


class TestUpstreamSystems:
    async def test_a_create_command_from_a_plain_producer_is_processed_with_events(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["8001", "80x1"])
        await send_command(producer, tenant, command.model_dump_json().encode())

        found = await events.wait_for(
            lambda e: e.get("command_id") == str(command.message_id), count=2
        )
        by_type = {e["type"]: e for e in found}
        assert by_type["created"]["caller_number"]["number"] == "8001"
        assert by_type["rejected"]["number"] == "80x1"
        assert by_type["rejected"]["reason"] == "not_digits"
        for event in found:
            assert event["tenant_id"] == tenant and event["schema_version"] == 1
            # The key's system, not what the command says (tests/factories.UPSTREAM, the same).
            assert (event["principal"]["sub"], event["principal"]["role"]) == ("crm", "service")
        listed = await http.get("/api/v1/caller-numbers", headers=f.tenant_admin(tenant))
        assert [i["number"] for i in listed.json()["items"]] == ["8001"]

    async def test_an_upstream_command_for_a_disabled_tenant_is_rejected_not_dropped(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http, anonymization=False)
        command = f.create_command(tenant, ["8002"])
        await send_command(producer, tenant, command.model_dump_json().encode())
        [event] = await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        assert event["type"] == "rejected" and event["reason"] == "feature_disabled"

    async def test_an_upstream_command_for_an_unknown_tenant_is_rejected(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        command = f.create_command(f.unique("ghost"), ["8003"])
        await send_command(producer, command.tenant_id, command.model_dump_json().encode())
        [event] = await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        assert event["reason"] == "tenant_not_found"


class TestExactlyOnce:
    async def test_the_same_command_published_twice_has_one_effect_and_one_outcome(
        self,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
        db: asyncpg.Pool,
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["8101"])
        for _ in range(2):
            await send_command(producer, tenant, command.model_dump_json().encode())

        is_ours = lambda e: e.get("command_id") == str(command.message_id)  # noqa: E731
        both = await events.wait_for(is_ours, count=2)
        # The redelivery answers with the stored outcome: the same event, under the same id.
        assert both[0] == both[1] and both[0]["type"] == "created"
        async with tenant_transaction(db, tenant) as conn:
            rows = await conn.fetchval("SELECT count(*) FROM caller_number WHERE number = '8101'")
            outcomes = await conn.fetchval("SELECT count(*) FROM processed_command")
        assert (rows, outcomes) == (1, 1)

    async def test_a_command_id_reused_by_another_tenant_is_still_processed_for_it(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant_a, tenant_b = await f.create_tenant(http), await f.create_tenant(http)
        command_a = f.create_command(tenant_a, ["8201"])
        command_b = command_a.model_copy(update={"tenant_id": tenant_b})
        await send_command(producer, tenant_a, command_a.model_dump_json().encode())
        await send_command(producer, tenant_b, command_b.model_dump_json().encode())
        found = await events.wait_for(
            lambda e: e.get("command_id") == str(command_a.message_id), count=2
        )
        assert {e["tenant_id"] for e in found} == {tenant_a, tenant_b}
        assert {e["type"] for e in found} == {"created"}


class TestDeadLetters:
    async def test_malformed_commands_go_to_the_dead_letter_topic_and_later_ones_still_pass(
        self,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
        dead_letters: TopicTap,
    ) -> None:
        tenant = await f.create_tenant(http)
        marker = uuid4().hex
        not_json = f"not json {marker}".encode()
        no_fields = orjson.dumps({"type": "create", "tenant_id": tenant, "marker": marker})
        await send_command(producer, tenant, not_json)
        await send_command(producer, tenant, no_fields)
        valid = f.create_command(tenant, ["8301"])
        await send_command(producer, tenant, valid.model_dump_json().encode())

        letters = await dead_letters.wait_for(lambda d: marker in d.get("payload", ""), count=2)
        assert [d["payload"].encode() for d in letters] == [not_json, no_fields]
        for letter in letters:
            assert letter["source_topic"] == topics.CALLER_NUMBER_COMMANDS
            assert letter["source_offset"] >= 0 and letter["attempts"] == 1
            assert letter["key"] == tenant
        assert "principal" in letters[1]["error"]  # names what is missing
        [event] = await events.wait_for(lambda e: e.get("command_id") == str(valid.message_id))
        assert event["type"] == "created"


class TestServicesRun:
    async def test_every_service_answers_its_health_check(
        self, services: dict[str, ServiceProcess]
    ) -> None:
        async with httpx.AsyncClient() as client:
            answers = await asyncio.gather(
                *(client.get(s.url + "/health") for s in services.values())
            )
        assert all(a.status_code < 300 for a in answers)


def _as_sent(command: BaseModel, **changes: Any) -> bytes:
    return orjson.dumps({**command.model_dump(mode="json"), **changes})


class TestEveryReadableCommandIsAnswered:
    async def test_generated_commands_that_cannot_be_applied_are_rejected_and_dead_lettered(
        self,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
        dead_letters: TopicTap,
    ) -> None:
        """The kind: known fields of the wrong type or meaning, an unknown `type`."""
        tenant = await f.create_tenant(http)
        sent = {}
        for wrong in draw_examples(wrong_fields):
            command = f.create_command(tenant, ["8401"])
            sent[str(command.message_id)] = wrong
            await send_command(producer, tenant, _as_sent(command, **wrong))

        answers = await events.wait_for(lambda e: e.get("command_id") in sent, count=len(sent))
        for answer in answers:
            assert (answer["type"], answer["reason"], answer["number"]) == (
                "rejected",
                "malformed_command",
                "",
            ), sent[answer["command_id"]]
            assert answer["errors"] and answer["tenant_id"] == tenant
            assert all(e["message"] for e in answer["errors"])
        letters = await dead_letters.wait_for(
            lambda d: orjson.loads(d["payload"])["message_id"] in sent, count=len(sent)
        )
        assert all(d["attempts"] == 1 and d["key"] == tenant for d in letters)
        listed = await http.get("/api/v1/caller-numbers", headers=f.tenant_admin(tenant))
        assert listed.json()["total"] == 0

    @pytest.mark.parametrize("unknown", ["upsert", "\x00"], ids=["upsert", "nul"])
    async def test_an_unknown_type_is_rejected_and_its_outcome_can_be_looked_up(
        self,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
        dead_letters: TopicTap,
        unknown: str,
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["8402"])
        await send_command(producer, tenant, _as_sent(command, type=unknown))
        [answer] = await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        assert answer["reason"] == "malformed_command"
        assert answer["principal"] == command.principal.model_dump(mode="json")
        [letter] = await dead_letters.wait_for(lambda d: str(command.message_id) in d["payload"])
        assert "union_tag_invalid" in letter["error"]
        looked_up = await http.get(
            f"/api/v1/commands/{command.message_id}", headers=f.tenant_admin(tenant)
        )
        [outcome] = looked_up.json()["results"]
        assert (outcome["status"], outcome["reason"]) == ("rejected", "malformed_command")

    async def test_a_gateway_command_with_no_readable_principal_is_answered_by_the_registry(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        # (An upstream key's command is answered as its system: the principal is the key's.)
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["8403"])
        value = _as_sent(command, principal="crm")
        await send_command(producer, tenant, value, signer=signing.gateway())
        [answer] = await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        assert answer["reason"] == "malformed_command"
        assert answer["principal"] == {**answer["principal"], "sub": "number-registry"}
        assert [e["loc"] for e in answer["errors"]] == [["create", "principal"]]

    @pytest.mark.parametrize("key", [b"another-tenant", None], ids=["other", "none"])
    async def test_a_key_that_is_not_the_tenant_id_is_rejected_not_applied(
        self,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
        dead_letters: TopicTap,
        key: bytes | None,
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["8404"])
        value = command.model_dump_json().encode()
        await producer.send_and_wait(
            topics.CALLER_NUMBER_COMMANDS, value, key=key, headers=signed(value)
        )
        [answer] = await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        assert (answer["type"], answer["reason"]) == ("rejected", "key_mismatch")
        assert tenant in answer["message"]
        [letter] = await dead_letters.wait_for(lambda d: str(command.message_id) in d["payload"])
        assert "key" in letter["error"]
        listed = await http.get("/api/v1/caller-numbers", headers=f.tenant_admin(tenant))
        assert listed.json()["total"] == 0

    async def test_a_command_without_a_readable_id_goes_to_the_dead_letter_topic_alone(
        self,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
        dead_letters: TopicTap,
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["8405"])
        marker = uuid4().hex
        await send_command(producer, tenant, _as_sent(command, message_id=f"not-an-id-{marker}"))
        await dead_letters.wait_for(lambda d: marker in d["payload"])
        after = f.create_command(tenant, ["8406"])
        await send_command(producer, tenant, after.model_dump_json().encode())
        await events.wait_for(lambda e: e.get("command_id") == str(after.message_id))
        ours = [e for e in events.seen if e.get("tenant_id") == tenant]
        assert {e["command_id"] for e in ours} == {str(after.message_id)}


class TestUpstreamCommandsOfANewerProducer:
    async def test_create_update_and_delete_with_fields_the_registry_does_not_know_are_applied(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        upstream = {"sub": "crm", "role": "service", "team": "billing"}
        extra = {"source_system": "crm-2", "trace": {"id": 7}}
        create = f.create_command(tenant, ["8501"])
        update = UpdateCallerNumber(
            tenant_id=tenant, principal=create.principal, number="8501", org_unit_id="sales"
        )
        delete = DeleteCallerNumber(tenant_id=tenant, principal=create.principal, number="8501")
        types = []
        for command in (create, update, delete):
            await send_command(producer, tenant, _as_sent(command, principal=upstream, **extra))
            [event] = await events.wait_for(
                lambda e, c=command: e.get("command_id") == str(c.message_id)
            )
            types.append(event["type"])
        assert types == ["created", "updated", "deleted"]


class TestUpstreamCreatesPerNumber:
    async def test_generated_creates_get_one_outcome_per_number_with_its_reason(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        """The kind, as over HTTP: good, empty, non-digit, too long and repeated numbers."""
        tenant = await f.create_tenant(http)
        for request in draw_examples(number_requests(), 10):
            command = f.create_command(tenant, [number for number, _ in request])
            await send_command(producer, tenant, command.model_dump_json().encode())
            found = await events.wait_for(
                lambda e, c=command: e.get("command_id") == str(c.message_id), count=len(request)
            )
            got = {
                (e["number"], e["reason"])
                if e["type"] == "rejected"
                else (e["caller_number"]["number"], None)
                for e in found
            }
            for number, reason in request:
                if reason is None:
                    assert {(number.strip(), None), (number.strip(), "duplicate")} & got
                else:
                    assert (number.strip(), reason) in got

    @pytest.mark.parametrize("org_unit_id", ["", None, "  "])
    async def test_an_empty_ou_in_a_command_means_unorganized(
        self,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
        org_unit_id: str | None,
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        command = f.create_command(tenant, ["8601"])
        await send_command(producer, tenant, _as_sent(command, org_unit_id=org_unit_id))
        [event] = await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        assert event["type"] == "created" and event["caller_number"]["org_unit_id"] is None
