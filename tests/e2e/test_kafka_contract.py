"""Commands straight onto Kafka, as upstream systems send them: events, once only, dead letters."""

import asyncio
from uuid import uuid4

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaProducer

from shared import topics
from shared.db.pool import tenant_transaction
from tests import factories as f
from tests.kafka import TopicTap
from tests.processes import ServiceProcess


async def publish(producer: AIOKafkaProducer, tenant: str, value: bytes) -> None:
    await producer.send_and_wait(topics.CALLER_NUMBER_COMMANDS, value, key=tenant.encode())


class TestUpstreamSystems:
    async def test_a_create_command_from_a_plain_producer_is_processed_with_events(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["8001", "80x1"])
        await publish(producer, tenant, command.model_dump_json().encode())

        found = await events.wait_for(
            lambda e: e.get("command_id") == str(command.message_id), count=2
        )
        by_type = {e["type"]: e for e in found}
        assert by_type["created"]["caller_number"]["number"] == "8001"
        assert by_type["rejected"]["number"] == "80x1"
        assert by_type["rejected"]["reason"] == "not_digits"
        for event in found:
            assert event["tenant_id"] == tenant and event["schema_version"] == 1
            assert event["principal"]["sub"] == "upstream-crm"
        listed = await http.get("/api/v1/caller-numbers", headers=f.tenant_admin(tenant))
        assert [i["number"] for i in listed.json()["items"]] == ["8001"]

    async def test_an_upstream_command_for_a_disabled_tenant_is_rejected_not_dropped(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http, anonymization=False)
        command = f.create_command(tenant, ["8002"])
        await publish(producer, tenant, command.model_dump_json().encode())
        [event] = await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        assert event["type"] == "rejected" and event["reason"] == "feature_disabled"

    async def test_an_upstream_command_for_an_unknown_tenant_is_rejected(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        command = f.create_command(f.unique("ghost"), ["8003"])
        await publish(producer, command.tenant_id, command.model_dump_json().encode())
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
            await publish(producer, tenant, command.model_dump_json().encode())

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
        await publish(producer, tenant_a, command_a.model_dump_json().encode())
        await publish(producer, tenant_b, command_b.model_dump_json().encode())
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
        await publish(producer, tenant, not_json)
        await publish(producer, tenant, no_fields)
        valid = f.create_command(tenant, ["8301"])
        await publish(producer, tenant, valid.model_dump_json().encode())

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
