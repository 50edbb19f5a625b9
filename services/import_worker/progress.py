"""Per-row results into the task's counters, the end of a task once every row has its result,
and the task's lifecycle events."""

import time
from uuid import UUID

import asyncpg
from faststream.kafka.publisher.usecase import DefaultPublisher

from services.import_worker import reports
from shared import metrics
from shared.db import imports
from shared.db.imports import ImportTask, RowResult, Status
from shared.db.pool import tenant_transaction


class Progress:
    def __init__(
        self, *, pool: asyncpg.Pool, publisher: DefaultPublisher, min_interval: float
    ) -> None:
        self._pool, self._publisher, self._min_interval = pool, publisher, min_interval
        self._last_sent: dict[UUID, float] = {}

    async def record(self, tenant_id: str, task_id: UUID, results: list[RowResult]) -> None:
        """Store and count the results given (the rows the worker decides itself: cells of the
        wrong format, rows not processed once cancelling; none for a batch the registry
        answered, whose results it stored), then finish the task if every row has its result
        now; results given again change nothing."""
        async with tenant_transaction(self._pool, tenant_id) as conn:
            # A registry's answer lists none: then the task's row is not written at all.
            task = (
                await imports.store_results(conn, task_id=task_id, results=results)
                if results
                else None
            )
            finished = await imports.finish_if_done(conn, task_id=task_id)
            if task is None and finished is None and self._progress_due(task_id):
                task = await imports.get_task(conn, task_id=task_id)
        metrics.count_row_results(results)
        if finished is not None:
            await self.publish(finished)
        elif (
            task is not None
            and not task.status.final  # a late delivery: its final event went out already
            and self._progress_due(task_id)
        ):
            self._last_sent[task_id] = time.monotonic()  # progress at most once an interval
            await self.publish(task)

    def _progress_due(self, task_id: UUID) -> bool:
        return time.monotonic() - self._last_sent.get(task_id, 0.0) >= self._min_interval

    async def publish(self, task: ImportTask, *, started: bool = False) -> None:
        """The event that tells the task's state (see `imports.event_of`); a completed or
        cancelled task's report is stored first, so the event's readers can download it."""
        if task.status.final:
            self._last_sent.pop(task.id, None)
        if task.status in (Status.COMPLETED, Status.CANCELLED):
            await reports.store(self._pool, tenant_id=task.tenant_id, task_id=task.id)
        event = imports.event_of(task, started=started)
        await self._publisher.publish(event.model_dump_json().encode(), key=task.tenant_id.encode())
