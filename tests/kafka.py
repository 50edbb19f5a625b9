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
    ) -> list[dict[str, Any]]:
        """The first `count` messages that match; fails if they do not come `within` seconds."""

        async def until_enough() -> list[dict[str, Any]]:
            while len(found := [m for m in self.seen if match(m)]) < count:
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


def _decode(value: bytes | None) -> dict[str, Any]:
    try:
        decoded = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return {"_raw": value}
    return decoded if isinstance(decoded, dict) else {"_raw": decoded}
