"""Prometheus metrics of our own, beside FastStream's per-topic message metrics."""

import asyncio
import logging
from typing import Any

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY, Counter, Gauge

from shared.db.imports import RowResult

log = logging.getLogger(__name__)
LAG_TIMEOUT = 5.0

DEAD_LETTERED = Counter(
    "dead_lettered_messages", "Messages sent to a dead-letter topic, by source topic", ["topic"]
)
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag",
    "Messages of a partition not yet processed (end offset minus committed offset)",
    ["group", "topic", "partition"],
)
IMPORT_ROWS_READ = Counter("import_rows_read", "Data rows read from import files")
IMPORT_ROW_RESULTS = Counter(
    "import_row_results", "Per-row results recorded (each delivery of a batch)", ["result"]
)
IMPORT_ROWS_APPLIED = Counter(
    "import_rows_applied", "Import rows the registry answered (each delivery of a batch)"
)
ACTIVE_IMPORTS = Gauge("imports_active", "Imports whose file this worker is reading")


def count_row_results(results: list[RowResult]) -> None:
    succeeded = sum(result.succeeded for result in results)
    IMPORT_ROW_RESULTS.labels("succeeded").inc(succeeded)
    IMPORT_ROW_RESULTS.labels("failed").inc(len(results) - succeeded)


def kafka_middleware(app_name: str) -> KafkaPrometheusMiddleware:
    """Messages consumed and published per topic, handler latency and errors (FastStream's)."""
    return KafkaPrometheusMiddleware(registry=REGISTRY, app_name=app_name)


async def refresh_consumer_lag(broker: KafkaBroker) -> None:
    """Set the lag of every partition this process's consumers hold (asked of Kafka now)."""
    CONSUMER_LAG.clear()  # partitions handed to another instance are not ours to report
    try:
        await asyncio.wait_for(_set_consumer_lag(broker), LAG_TIMEOUT)
    except (KafkaError, OSError, TimeoutError) as error:  # the other metrics still get out
        log.warning("consumer lag unknown: %r", error)


async def _set_consumer_lag(broker: KafkaBroker) -> None:
    for subscriber in broker.subscribers:  # with its aiokafka consumers once started
        group = getattr(subscriber, "group_id", "")
        # A subscriber with max_workers holds its consumers in consumer_subgroup (FastStream).
        consumers: list[Any] = getattr(subscriber, "consumer_subgroup", None) or [
            getattr(subscriber, "consumer", None)
        ]
        for consumer in consumers:
            partitions = list(consumer.assignment()) if consumer is not None else []
            if not partitions:
                continue
            ends = await consumer.end_offsets(partitions)
            for partition in partitions:
                done = await consumer.committed(partition)
                if done is None:  # nothing committed yet: as far as this consumer has fetched
                    done = await consumer.position(partition)
                lag = max(ends[partition] - done, 0)
                CONSUMER_LAG.labels(group, partition.topic, str(partition.partition)).set(lag)
