"""The command subscribers: a thin adapter between Kafka and the registry."""

import asyncio

import asyncpg
from faststream import Context
from faststream.kafka import KafkaRouter
from faststream.kafka.annotations import KafkaMessage

from services.number_registry import imports, registry
from shared import topics
from shared.contracts import ImportRowsApplied, ImportRowsRead, outcome_event
from shared.db.pool import tenant_transaction
from shared.faults import crash_point, fail_point
from shared.kafka import (
    BULK_FETCH_BYTES,
    INTERACTIVE_FETCH_WAIT_MS,
    at_least_once,
    model_decoder,
    partition_count,
)
from shared.settings import Settings


def create_router(settings: Settings) -> KafkaRouter:
    """The registry's subscribers and the publishers they answer on, for one broker."""
    router = KafkaRouter()
    events = router.publisher(topics.CALLER_NUMBER_EVENTS, title="caller-number events")
    import_results = router.publisher(topics.IMPORT_ROW_RESULTS, title="import row results")
    results_partitions: list[int] = []  # asked of Kafka once

    # NACK_ON_ERROR: the offset is committed only after the transaction and the events; a crash
    # in between redelivers the command, and `registry.apply` answers it with the stored outcome.
    # The body is read here, not by FastStream, so that a command which cannot be applied is
    # still answered (`rejected`) before it goes to the dead-letter topic.
    @router.subscriber(
        topics.CALLER_NUMBER_COMMANDS,
        **at_least_once("number-registry", settings, fetch_max_wait_ms=INTERACTIVE_FETCH_WAIT_MS),
    )
    async def on_command(
        message: KafkaMessage,
        key: bytes | None = Context("message.raw_message.key"),
        pool: asyncpg.Pool = Context(),
    ) -> None:
        command = registry.read(message.body, key=key)
        header = command.header if isinstance(command, registry.Unappliable) else command
        fail_point("registry.command", str(header.message_id))
        async with tenant_transaction(pool, header.tenant_id) as conn:
            applied = await registry.apply(conn, command)
        crash_point("registry.after_commit")
        await asyncio.gather(
            *(
                events.publish(
                    outcome_event(header, index, outcome, applied.processed_at)
                    .model_dump_json()
                    .encode(),
                    key=header.tenant_id.encode(),
                )
                for index, outcome in enumerate(applied.outcomes)
            )
        )
        crash_point("registry.after_publish")
        if isinstance(command, registry.Unappliable):
            raise command.error  # answered; the dead-letter topic keeps the message too

    @router.subscriber(
        topics.IMPORT_ROWS,
        **at_least_once(
            "number-registry-imports", settings, max_partition_fetch_bytes=BULK_FETCH_BYTES
        ),
        decoder=model_decoder(ImportRowsRead),
    )
    async def on_import_rows(
        batch: ImportRowsRead,
        partition: int = Context("message.raw_message.partition"),
        pool: asyncpg.Pool = Context(),
    ) -> None:
        async with tenant_transaction(pool, batch.tenant_id) as conn:
            results = await imports.apply(conn, batch)
        crash_point("registry.after_commit")
        applied = ImportRowsApplied(
            tenant_id=batch.tenant_id,
            principal=batch.principal,
            task_id=batch.task_id,
            results=results,
        )
        # The rows' partition (modulo): one import's results spread over the workers as its
        # rows spread over the registries; recording them depends on no order.
        if not results_partitions:
            results_partitions.append(await partition_count(settings, topics.IMPORT_ROW_RESULTS))
        await import_results.publish(
            applied.model_dump_json().encode(),
            key=batch.tenant_id.encode(),
            partition=partition % results_partitions[0],
        )

    return router
