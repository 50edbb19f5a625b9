"""What the import events say of each task: its latest state, its rows/s and its ETA (pure)."""

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from shared.contracts import ImportEventUnion, ImportFailed

FINISHED = {"completed", "failed", "cancelled"}
# Rows/s of a running task over its last events; progress events come about once a second.
RATE_WINDOW = timedelta(seconds=10)


@dataclass
class TaskView:
    task_id: UUID
    tenant_id: str
    first: ImportEventUnion
    last: ImportEventUnion
    # (event time, rows with a result) of the recent events.
    samples: deque[tuple[datetime, int]] = field(default_factory=deque)

    @property
    def status(self) -> str:
        return self.last.status

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def done(self) -> int:
        """Rows with a result; the progress bar's position."""
        return _done(self.last)

    @property
    def total(self) -> int | None:
        return self.last.counters.rows_total

    def rows_per_second(self) -> float | None:
        """Over the recent events while running; over the whole run once finished."""
        if self.finished:
            since, done_then = self.first.occurred_at, _done(self.first)
        else:
            since, done_then = self.samples[0]
        until, done_now = self.samples[-1]
        seconds = (until - since).total_seconds()
        return (done_now - done_then) / seconds if seconds > 0 else None

    def eta_seconds(self) -> float | None:
        rate = self.rows_per_second()
        if self.finished or self.total is None or not rate:
            return None
        return max(self.total - self.done, 0) / rate

    def as_json(self) -> dict[str, Any]:
        extra = {}
        if isinstance(self.last, ImportFailed):
            extra = {"error_code": self.last.error_code, "error_message": self.last.error_message}
        return {
            "task_id": str(self.task_id),
            "tenant_id": self.tenant_id,
            "status": self.status,
            "counters": self.last.counters.model_dump(),
            "first_event_at": self.first.occurred_at.isoformat(),
            "last_event_at": self.last.occurred_at.isoformat(),
            "rows_per_second": _round(self.rows_per_second()),
            "eta_seconds": _round(self.eta_seconds()),
            **extra,
        }


class Board:
    """Every task seen on the topic, by task id; hidden ones stay counted but are not shown."""

    def __init__(self) -> None:
        self.tasks: dict[UUID, TaskView] = {}
        self._hidden: set[UUID] = set()

    def apply(self, event: ImportEventUnion) -> None:
        view = self.tasks.get(event.task_id)
        if view is None:
            view = self.tasks[event.task_id] = TaskView(
                task_id=event.task_id, tenant_id=event.tenant_id, first=event, last=event
            )
        elif view.finished:
            # A final state is final. Progress is published after its commit, so one may land
            # on the topic after the task's last event; it tells nothing newer.
            return
        view.last = event
        view.samples.append((event.occurred_at, _done(event)))
        while len(view.samples) > 2 and event.occurred_at - view.samples[0][0] > RATE_WINDOW:
            view.samples.popleft()

    def hide_finished(self) -> None:
        """From now on show only the tasks running now and those that start later."""
        self._hidden = {task_id for task_id, view in self.tasks.items() if view.finished}

    def shown(self) -> list[TaskView]:
        """Newest first."""
        views = [view for task_id, view in self.tasks.items() if task_id not in self._hidden]
        return sorted(views, key=lambda view: view.first.occurred_at, reverse=True)


def _done(event: ImportEventUnion) -> int:
    counters = event.counters
    return counters.succeeded + counters.failed + counters.not_processed


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None
