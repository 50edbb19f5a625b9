"""The dead-letter middleware of every service's broker, on FastStream's TestKafkaBroker: a
message published again to it counts as Kafka redelivering it after a NACK."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from faststream.kafka import KafkaBroker, TestKafkaBroker
from pydantic import BaseModel

from shared import topics
from shared.kafka import at_least_once, make_broker
from shared.settings import Settings

TOPIC = "integration-test.commands"


class Command(BaseModel):
    number: int


class Handled:
    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.letters: list[dict[str, Any]] = []
        self.error: Exception | None = None


@pytest_asyncio.fixture
async def handled(settings: Settings) -> AsyncIterator[tuple[KafkaBroker, Handled]]:
    """A broker as the services make it, with a handler that raises `handled.error`."""
    broker, handled = make_broker(settings, client_id="integration-test"), Handled()

    @broker.subscriber(TOPIC, **at_least_once("integration-test", settings))
    async def handle(command: Command) -> None:
        handled.commands.append(command)
        if handled.error is not None:
            raise handled.error

    @broker.subscriber(topics.dead_letter_topic(TOPIC))
    async def dead_letter(letter: dict[str, Any]) -> None:
        handled.letters.append(letter)

    async with TestKafkaBroker(broker) as testing:
        yield testing, handled


async def test_a_malformed_message_is_dead_lettered_at_once_with_its_payload_and_source(
    handled: tuple[KafkaBroker, Handled],
) -> None:
    broker, seen = handled
    await broker.publish(b'{"number": "seven"}', TOPIC, key=b"tenant-1")
    [letter] = seen.letters
    assert seen.commands == []
    assert letter["payload"] == '{"number": "seven"}' and letter["key"] == "tenant-1"
    assert (letter["source_topic"], letter["attempts"]) == (TOPIC, 1)
    assert letter["error"].startswith("ValidationError")


async def test_a_failing_handler_is_retried_then_dead_lettered_after_the_last_attempt(
    handled: tuple[KafkaBroker, Handled], settings: Settings
) -> None:
    broker, seen = handled
    seen.error = RuntimeError("the rules crashed")
    for _ in range(settings.max_delivery_attempts - 1):
        with pytest.raises(RuntimeError):  # NACKed: Kafka delivers it again
            await broker.publish(b'{"number": 7}', TOPIC, key=b"tenant-1")
        assert seen.letters == []
    await broker.publish(b'{"number": 7}', TOPIC, key=b"tenant-1")  # acked: dead-lettered
    [letter] = seen.letters
    assert letter["attempts"] == settings.max_delivery_attempts
    assert letter["error"] == "RuntimeError: the rules crashed"
    assert len(seen.commands) == settings.max_delivery_attempts


async def test_an_outage_is_retried_and_never_dead_lettered(
    handled: tuple[KafkaBroker, Handled], settings: Settings
) -> None:
    broker, seen = handled
    seen.error = ConnectionRefusedError("PostgreSQL is down")
    for _ in range(settings.max_delivery_attempts + 1):
        with pytest.raises(ConnectionRefusedError):
            await broker.publish(b'{"number": 7}', TOPIC, key=b"tenant-1")
    assert seen.letters == []
    seen.error = None
    await broker.publish(b'{"number": 7}', TOPIC, key=b"tenant-1")
    assert seen.letters == [] and len(seen.commands) == settings.max_delivery_attempts + 2
