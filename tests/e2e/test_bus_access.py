"""The broker itself holds every principal to its ACLs (scripts/kafka/acls.txt): each may
read and write the topics and groups its lines name, and nothing else; no one gets in without
a password that the broker knows."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from shared import topics
from shared.kafka import client_options
from shared.settings import Settings
from tests import factories as f
from tests.infra import Backing
from tests.kafka_acls import principals, topics_allowed

pytestmark = pytest.mark.usefixtures("http")  # the services are up: every topic exists


@pytest.fixture
def authenticated(backing: Backing) -> Backing:
    if not backing.principal_env("upstream"):
        pytest.skip("this broker takes no credentials (testcontainers' Kafka)")
    return backing


@asynccontextmanager
async def producer_of(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(**client_options(settings), request_timeout_ms=10_000)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def may_read(settings: Settings, topic: str) -> bool:
    """Whether a consumer of `settings` gets the topic's messages (without a group)."""
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        if topic not in await consumer.topics():  # not even allowed to know that it exists
            return False
        consumer.assign([TopicPartition(topic, 0)])  # every topic has a partition 0
        await consumer.seek_to_beginning()
        await consumer.getmany(timeout_ms=500)
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()


@pytest.mark.parametrize("principal", principals())
async def test_a_principal_cannot_write_a_topic_its_acls_do_not_name(
    authenticated: Backing, principal: str
) -> None:
    forbidden = sorted(set(topics.ALL) - topics_allowed(principal, "Write"))
    assert forbidden
    async with producer_of(authenticated.settings(principal=principal)) as producer:
        for topic in forbidden:
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(topic, b"{}", key=b"forged")


@pytest.mark.parametrize("principal", principals())
async def test_a_principal_cannot_read_a_topic_its_acls_do_not_name(
    authenticated: Backing, principal: str
) -> None:
    settings = authenticated.settings(principal=principal)
    for topic in sorted(set(topics.ALL) - topics_allowed(principal, "Read")):
        assert not await may_read(settings, topic), f"{principal} reads {topic}"
    for topic in sorted(topics_allowed(principal, "Read")):
        assert await may_read(settings, topic), f"{principal} cannot read {topic}"


async def test_upstream_sends_a_command_and_reads_its_outcome_in_a_group_of_its_own(
    authenticated: Backing, http: httpx.AsyncClient
) -> None:
    tenant = await f.create_tenant(http)
    command = f.create_command(tenant, ["0215000777"])
    settings = authenticated.settings(principal="upstream")
    async with producer_of(settings) as producer:
        await producer.send_and_wait(
            topics.CALLER_NUMBER_COMMANDS, command.model_dump_json().encode(), key=tenant.encode()
        )
    consumer = AIOKafkaConsumer(
        topics.CALLER_NUMBER_EVENTS,
        **client_options(settings),
        group_id=f"upstream-crm-{tenant}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        async for record in consumer:  # its outcome (created, or rejected), whatever it is
            if str(command.message_id).encode() in (record.value or b""):
                break
        await consumer.commit()
    finally:
        await consumer.stop()


async def test_upstream_cannot_consume_in_a_services_consumer_group(
    authenticated: Backing,
) -> None:
    consumer = AIOKafkaConsumer(
        topics.CALLER_NUMBER_EVENTS,
        **client_options(authenticated.settings(principal="upstream")),
        group_id="number-registry",
    )
    with pytest.raises(GroupAuthorizationFailedError):
        await consumer.start()
        await consumer.getmany(timeout_ms=5000)
    await consumer.stop()


@pytest.mark.parametrize(
    "wrong",
    [
        {"kafka_sasl_password": "not-the-password"},
        {"kafka_sasl_username": "nobody"},
        {
            "kafka_security_protocol": "PLAINTEXT",
            "kafka_sasl_mechanism": None,
            "kafka_sasl_username": None,
            "kafka_sasl_password": None,
        },
    ],
    ids=["wrong password", "unknown user", "no authentication"],
)
async def test_a_client_without_valid_credentials_gets_nothing(
    authenticated: Backing, wrong: dict[str, str | None]
) -> None:
    producer = AIOKafkaProducer(
        **client_options(authenticated.settings(principal="upstream", **wrong)),
        request_timeout_ms=5000,
    )
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()
