"""Signed commands on the real broker and registry: what is not proven is answered
`unauthenticated` and not applied; the principal comes from the key; freshness from the
broker's append time (shared/signing)."""

import time
from uuid import uuid4

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared import topics
from shared.contracts import Principal, Role
from shared.kafka import client_options, keep_configs
from shared.signing import LOG_APPEND_TIME, TrustedKeys, Verifier
from shared.signing.keyfiles import TRUSTED_KEYS_FILE
from tests import factories as f
from tests import signing
from tests.generated import draw_examples, tampered_fields
from tests.infra import KEYS_DIR, Backing
from tests.kafka import TopicTap
from tests.signing import send_command, signed

REGISTRY = {"sub": "number-registry", "role": "service"}


async def _numbers(http: httpx.AsyncClient, tenant: str) -> int:
    listed = await http.get("/api/v1/caller-numbers", headers=f.tenant_admin(tenant))
    total: int = listed.json()["total"]
    return total


class TestUnauthenticated:
    async def test_an_unsigned_command_is_answered_not_applied_and_dead_lettered(
        self,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
        dead_letters: TopicTap,
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["8601"])
        await producer.send_and_wait(
            topics.CALLER_NUMBER_COMMANDS, command.model_dump_json().encode(), key=tenant.encode()
        )
        [answer] = await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        assert (answer["type"], answer["reason"], answer["number"]) == (
            "rejected",
            "unauthenticated",
            "",
        )
        assert answer["message"].startswith("No signature") and "kid" in answer["message"]
        assert {**answer["principal"], **REGISTRY} == answer["principal"]
        [letter] = await dead_letters.wait_for(lambda d: str(command.message_id) in d["payload"])
        assert "Unauthenticated: No signature" in letter["error"]
        looked_up = await http.get(
            f"/api/v1/commands/{command.message_id}", headers=f.tenant_admin(tenant)
        )
        assert looked_up.json()["results"][0]["reason"] == "unauthenticated"
        assert await _numbers(http, tenant) == 0

    async def test_generated_tampering_of_a_signed_command_is_answered_unauthenticated(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None), ("support", None)])
        sent: list[tuple[str, str]] = []  # (command_id, tenant) of each forged command
        for name, value in draw_examples(tampered_fields):
            command = f.create_command(tenant, ["8602"]).model_dump(mode="json")
            if command[name] == value:
                continue
            record = signing.record(orjson.dumps(command), key=tenant.encode())
            forged = orjson.dumps({**command, name: value})
            await producer.send_and_wait(
                topics.CALLER_NUMBER_COMMANDS, forged, key=tenant.encode(), headers=record.headers
            )
            after = orjson.loads(forged)
            sent.append((str(after["message_id"]), str(after["tenant_id"])))
        ids = {command_id for command_id, _ in sent}
        answers = await events.wait_for(lambda e: e.get("command_id") in ids, count=len(ids))
        assert {(a["command_id"], a["tenant_id"]) for a in answers} == set(sent)
        assert {(a["reason"], a["principal"]["sub"]) for a in answers} == {
            ("unauthenticated", "number-registry")
        }
        assert await _numbers(http, tenant) == 0

    async def test_a_signature_older_than_the_window_by_the_brokers_clock_is_stale(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["8603"])
        value = command.model_dump_json().encode()
        long_ago = time.time_ns() // 1_000_000 - 301_000
        headers = signing.upstream().headers(value, signed_at_ms=long_ago)
        await producer.send_and_wait(
            topics.CALLER_NUMBER_COMMANDS,
            value,
            key=tenant.encode(),
            headers=[(k, v.encode()) for k, v in headers.items()],
        )
        [answer] = await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        assert answer["reason"] == "unauthenticated"
        assert answer["message"].startswith("Stale signature")

    async def test_a_copied_signature_cannot_carry_another_command(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http)
        original = f.create_command(tenant, ["8604"])
        value = original.model_dump_json().encode()
        record = signing.record(value, key=tenant.encode())
        await send_command(producer, tenant, value)
        copy = f.create_command(tenant, ["8605"])  # its own message_id, the original's headers
        await producer.send_and_wait(
            topics.CALLER_NUMBER_COMMANDS,
            copy.model_dump_json().encode(),
            key=tenant.encode(),
            headers=record.headers,
        )
        ids = {str(original.message_id), str(copy.message_id)}
        found = await events.wait_for(lambda e: e.get("command_id") in ids, count=2)
        outcome = {e["command_id"]: e.get("reason", e["type"]) for e in found}
        assert outcome[str(original.message_id)] == "created"
        assert outcome[str(copy.message_id)] == "unauthenticated"
        listed = await http.get("/api/v1/caller-numbers", headers=f.tenant_admin(tenant))
        assert [item["number"] for item in listed.json()["items"]] == ["8604"]


class TestPrincipal:
    async def test_an_upstream_command_acts_as_its_keys_system_whatever_it_claims(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http)
        claimed = {"sub": "mallory", "role": "tenant_admin"}
        command = f.create_command(tenant, ["8611"]).model_dump(mode="json") | {
            "principal": claimed
        }
        await send_command(producer, tenant, orjson.dumps(command))
        [event] = await events.wait_for(lambda e: e.get("command_id") == command["message_id"])
        assert event["type"] == "created"
        assert (event["principal"]["sub"], event["principal"]["role"]) == ("crm", "service")

    async def test_the_gateway_signs_each_command_for_the_user_it_authenticated(
        self, backing: Backing, http: httpx.AsyncClient, producer: AIOKafkaProducer
    ) -> None:
        tenant = await f.create_tenant(http)
        consumer = AIOKafkaConsumer(**client_options(backing.settings()), group_id=None)
        await consumer.start()
        try:
            partitions = [
                TopicPartition(topics.CALLER_NUMBER_COMMANDS, p)
                for p in await producer.partitions_for(topics.CALLER_NUMBER_COMMANDS)
            ]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for partition in partitions:
                await consumer.position(partition)
            admin = f.tenant_admin(tenant)
            added = await http.post(
                "/api/v1/caller-numbers", json={"numbers": ["8612"]}, headers=admin
            )
            command_id = added.json()["command_id"]
            record = None
            while record is None:
                batch = await consumer.getmany(timeout_ms=30_000)
                assert batch, "the gateway's command did not reach the commands topic"
                record = next(
                    (r for rs in batch.values() for r in rs if command_id.encode() in r.value),
                    None,
                )
        finally:
            await consumer.stop()
        assert record.timestamp_type == LOG_APPEND_TIME
        verifier = Verifier(TrustedKeys.from_file(KEYS_DIR / TRUSTED_KEYS_FILE), window_seconds=300)
        claimed = Principal.model_validate(orjson.loads(record.value)["principal"])
        assert claimed.role == Role.TENANT_ADMIN  # the user whose token the gateway checked
        assert verifier.principal(record, tenant_id=tenant, claimed=claimed) == claimed
        assert dict(record.headers)["kid"] == b"gateway-dev"


class TestTopicConfig:
    async def test_a_topic_made_before_gets_the_append_time_and_keeps_its_own_settings(
        self, backing: Backing
    ) -> None:
        admin = AIOKafkaAdminClient(**client_options(backing.settings()))
        await admin.start()
        scratch = f"scratch-{uuid4().hex[:8]}"
        try:
            made = NewTopic(scratch, 1, 1, topic_configs={"retention.ms": "3600000"})
            await admin.create_topics([made])
            wanted = topics.CONFIGS[topics.CALLER_NUMBER_COMMANDS]
            await keep_configs(admin, scratch, wanted)
            await keep_configs(admin, scratch, wanted)  # again: nothing to change
            [described] = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, scratch)]
            )
            entries = described.to_object()["resources"][0]["config_entries"]
            values = {e["config_names"]: e["config_value"] for e in entries}
            assert values["message.timestamp.type"] == "LogAppendTime"
            assert values["retention.ms"] == "3600000"
        finally:
            await admin.delete_topics([scratch])
            await admin.close()

    async def test_the_commands_topic_stamps_the_brokers_append_time(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer
    ) -> None:
        tenant = await f.create_tenant(http)
        value = f.create_command(tenant, ["8621"]).model_dump_json().encode()
        sent = await producer.send_and_wait(
            topics.CALLER_NUMBER_COMMANDS,
            value,
            key=tenant.encode(),
            headers=signed(value),
            timestamp_ms=1_000,  # what a producer says is ignored
        )
        assert sent.timestamp != 1_000 and sent.timestamp_type == LOG_APPEND_TIME
