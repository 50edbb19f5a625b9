"""Per-row results into the task's counters, and the task's lifecycle events."""

import time
from uuid import UUID

import asyncpg
from faststream.kafka.publisher.usecase import DefaultPublisher

from shared import metrics
from shared.contracts import (
    ImportCompleted,
    ImportProgressed,
    ImportRowResult,
    ImportTaskEvent,
    Principal,
)
from shared.db import imports
from shared.db.imports import TaskRow
from shared.db.pool import tenant_transaction


class Progress:
    def __init__(
        self, *, pool: asyncpg.Pool, publisher: DefaultPublisher, min_interval: float
    ) -> None:
        self._pool, self._publisher, self._min_interval = pool, publisher, min_interval
        self._last_sent: dict[UUID, float] = {}

    async def record(self, tenant_id: str, task_id: UUID, results: list[ImportRowResult]) -> None:
        """Count each row's first result; results delivered again change nothing."""
        async with tenant_transaction(self._pool, tenant_id) as conn:
            task, completed = await imports.record_results(conn, task_id=task_id, results=results)
        metrics.count_row_results(results)
        if completed is not None:
            self._last_sent.pop(task_id, None)
            await self.publish(ImportCompleted, completed)
        elif time.monotonic() - self._last_sent.get(task_id, 0.0) >= self._min_interval:
            self._last_sent[task_id] = time.monotonic()  # progress at most once an interval
            await self.publish(ImportProgressed, task)

    async def publish(
        self, event_type: type[ImportTaskEvent], task: TaskRow, **fields: str
    ) -> None:
        await self._publisher.publish(
            task_event(event_type, task, **fields).model_dump_json().encode(),
            key=task["tenant_id"].encode(),
        )


def task_event(event_type: type[ImportTaskEvent], task: TaskRow, **fields: str) -> ImportTaskEvent:
    return event_type(
        tenant_id=task["tenant_id"],
        principal=Principal.model_validate(task["principal"]),
        task_id=task["id"],
        status=task["status"],
        counters=imports.counters(task),
        **fields,
    )
