"""Test helpers on real Kafka: read a topic from 'now' on, and publish raw bytes."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.kafka import client_options
from shared.settings import Settings


class TopicTap:
    """Every message published to a topic after the tap opened, decoded as JSON where it can be."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.topic = topic
        self._consumer = AIOKafkaConsumer(
            **client_options(settings), enable_auto_commit=False, group_id=None
        )
        self.seen: list[dict[str, Any]] = []

    async def open(self, producer: AIOKafkaProducer) -> "TopicTap":
        await self._consumer.start()
        partitions = [
            TopicPartition(self.topic, p) for p in await producer.partitions_for(self.topic)
        ]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:
            await self._consumer.position(partition)  # resolves "end" before anything is sent
        return self

    async def close(self) -> None:
        await self._consumer.stop()

    async def wait_for(
        self,
        match: Callable[[dict[str, Any]], bool],
        *,
        count: int = 1,
        within: float = 30.0,
        distinct: bool = False,
    ) -> list[dict[str, Any]]:
        """The first `count` messages that match; fails if they do not come `within` seconds.

        With `distinct`, a copy published again (a redelivery: the same message_id) counts
        once, so waiting for N events after crashes waits for N different ones.
        """

        def matching() -> list[dict[str, Any]]:
            found = [m for m in self.seen if match(m)]
            return _distinct(found) if distinct else found

        async def until_enough() -> list[dict[str, Any]]:
            while len(found := matching()) < count:
                batch = await self._consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    self.seen.extend(_decode(r.value) for r in records)
            return found[:count]

        return await asyncio.wait_for(until_enough(), within)

    async def drain(self, *, quiet_ms: int = 1000) -> None:
        """Read until the topic has been quiet for `quiet_ms` (to count what arrived in all)."""
        while batch := await self._consumer.getmany(timeout_ms=quiet_ms):
            for records in batch.values():
                self.seen.extend(_decode(r.value) for r in records)


@asynccontextmanager
async def tap(
    settings: Settings, topic: str, producer: AIOKafkaProducer
) -> AsyncIterator[TopicTap]:
    """A TopicTap open for the duration of the block."""
    opened = await TopicTap(settings, topic).open(producer)
    try:
        yield opened
    finally:
        await opened.close()


def _distinct(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each message once, in order of arrival; one without a message_id is its own."""
    ids: set[Any] = set()
    distinct = []
    for message in messages:
        message_id = message.get("message_id")
        if message_id is not None:
            if message_id in ids:
                continue
            ids.add(message_id)
        distinct.append(message)
    return distinct


def _decode(value: bytes | None) -> dict[str, Any]:
    try:
        decoded = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return {"_raw": value}
    return decoded if isinstance(decoded, dict) else {"_raw": decoded}
