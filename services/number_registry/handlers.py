"""The command subscribers: a thin adapter between Kafka and the registry."""

import asyncpg
from faststream import Context
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.number_registry import command_batches, imports
from shared import topics
from shared.contracts import REGISTRY, ImportRowsApplied, ImportRowsRead, outcome_event
from shared.db.pool import tenant_transaction
from shared.faults import crash_point
from shared.kafka import (
    BULK_FETCH_BYTES,
    COMMAND_BATCH_WAIT_MS,
    INTERACTIVE_FETCH_WAIT_MS,
    acknowledged,
    at_least_once,
    model_decoder,
    partition_count,
    publish_dead_letter,
)
from shared.settings import Settings
from shared.signing import Verifier


def create_router(settings: Settings) -> KafkaRouter:
    """The registry's subscribers and the publishers they answer on, for one broker."""
    router = KafkaRouter()
    verifier = Verifier.from_settings(settings)  # no trusted keys: the registry does not start
    events = router.publisher(topics.CALLER_NUMBER_EVENTS, title="caller-number events")
    import_results = router.publisher(topics.IMPORT_ROW_RESULTS, title="import rows answered")
    results_partitions: list[int] = []  # asked of Kafka once

    # One fetch of up to COMMAND_BATCH_RECORDS commands is applied together (command_batches),
    # its events are published together and awaited (acks=all), and only then are the offsets
    # committed (NACK_ON_ERROR): a crash in between redelivers the batch, and the commands
    # already applied answer with their stored outcomes, so their events are the same again.
    # The bodies are read here, not by FastStream, so that a command which cannot be applied
    # is still answered (`rejected`) before it goes to the dead-letter topic.
    @router.subscriber(
        topics.CALLER_NUMBER_COMMANDS,
        batch=True,
        max_records=settings.command_batch_records,
        batch_timeout_ms=COMMAND_BATCH_WAIT_MS,
        **at_least_once("number-registry", settings, fetch_max_wait_ms=INTERACTIVE_FETCH_WAIT_MS),
    )
    async def on_commands(
        message: KafkaMessage, broker: KafkaBroker = Context(), pool: asyncpg.Pool = Context()
    ) -> None:
        records = message.raw_message
        assert isinstance(records, tuple | list)  # a batch subscriber's ConsumerRecords
        batch = await command_batches.apply_batch(
            pool, records, verifier, max_attempts=settings.max_delivery_attempts
        )
        crash_point("registry.after_commit")
        # Each event handed to the producer in order without waiting, then every acknowledgement
        # awaited: the producer sends them in a few requests (a coroutine per event, gathered,
        # woke them all each time a request drained).
        deliveries = [
            await events.publish(
                outcome_event(answered.header, index, outcome, answered.applied.processed_at)
                .model_dump_json()
                .encode(),
                key=answered.header.tenant_id.encode(),
                no_confirm=True,
            )
            for answered in batch.answered
            for index, outcome in enumerate(answered.applied.outcomes)
        ]
        await acknowledged(deliveries)
        crash_point("registry.after_publish")
        for letter in batch.letters:
            await publish_dead_letter(broker, letter.record, letter.error, attempt=letter.attempts)

    # Several consumers of the rows topic in this instance (IMPORT_ROWS_CONSUMERS, by default
    # one per partition), side by side: while one batch waits on PostgreSQL, another's rules
    # run, and PostgreSQL writes several at once (1M csv rows, end to end: 48 -> 40 s). Each
    # partition's batches stay in order, and an import's decisions depend only on row numbers,
    # as with as many instances.
    consumers = settings.import_rows_consumers or settings.kafka_topic_partitions

    @router.subscriber(
        topics.IMPORT_ROWS,
        **at_least_once(
            "number-registry-imports",
            settings,
            max_partition_fetch_bytes=BULK_FETCH_BYTES,
            static_membership=consumers == 1,
        ),
        decoder=model_decoder(ImportRowsRead),
        max_workers=consumers,
    )
    async def on_import_rows(
        batch: ImportRowsRead,
        partition: int = Context("message.raw_message.partition"),
        pool: asyncpg.Pool = Context(),
    ) -> None:
        async with tenant_transaction(pool, batch.tenant_id) as conn:
            await imports.apply(conn, batch)  # the results are stored with the rows
        crash_point("registry.after_commit")
        applied = ImportRowsApplied(
            tenant_id=batch.tenant_id,
            principal=REGISTRY,  # internal topics carry service principals
            task_id=batch.task_id,
        )
        # The rows' partition (modulo): one import's answers spread over the workers as its
        # rows spread over the registries; finishing a task depends on no order.
        if not results_partitions:
            results_partitions.append(await partition_count(settings, topics.IMPORT_ROW_RESULTS))
        await import_results.publish(
            applied.model_dump_json().encode(),
            key=batch.tenant_id.encode(),
            partition=partition % results_partitions[0],
        )

    return router
