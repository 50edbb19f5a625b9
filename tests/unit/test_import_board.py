from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from ops.board import Board
from shared.contracts import (
    ImportCompleted,
    ImportCounters,
    ImportProgressed,
    ImportStarted,
    ImportTaskEvent,
    Principal,
    Role,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
TASK = uuid4()


def event(kind: type[ImportTaskEvent], second: float, done: int, status: str = "running") -> Any:
    counters = ImportCounters(
        rows_total=1000, rows_read=done, succeeded=done, failed=0, duplicates=0, not_processed=0
    )
    return kind(
        tenant_id="t1",
        principal=Principal(sub="a", role=Role.TENANT_ADMIN),
        occurred_at=T0 + timedelta(seconds=second),
        task_id=TASK,
        status=status,
        counters=counters,
    )


def board_of(*events: Any) -> Board:
    board = Board()
    for each in events:
        board.apply(each)
    return board


class TestRatesAndEta:
    def test_a_running_import_has_the_rate_of_its_recent_events_and_an_eta(self) -> None:
        board = board_of(
            event(ImportStarted, 0, 0),
            *(event(ImportProgressed, s, 10 * s) for s in range(1, 30)),
            event(ImportProgressed, 30, 400),  # faster lately
        )
        [view] = board.shown()
        assert view.done == 400 and view.total == 1000
        assert view.rows_per_second() == 20.0  # (400 - 200) rows from second 20 to 30
        assert view.eta_seconds() == 30.0  # 600 rows left

    def test_a_finished_import_has_its_average_rate_and_no_eta(self) -> None:
        board = board_of(
            event(ImportStarted, 0, 0),
            event(ImportProgressed, 5, 500),
            event(ImportCompleted, 20, 1000, status="completed"),
        )
        [view] = board.shown()
        assert view.rows_per_second() == 50.0 and view.eta_seconds() is None
        assert view.as_json()["status"] == "completed"

    def test_a_progress_event_that_lands_after_the_last_one_does_not_reopen_the_task(
        self,
    ) -> None:
        board = board_of(
            event(ImportStarted, 0, 0),
            event(ImportCompleted, 20, 1000, status="completed"),
            event(ImportProgressed, 19, 900),  # published after its commit, behind the last
        )
        [view] = board.shown()
        assert view.status == "completed" and view.done == 1000

    @pytest.mark.parametrize(
        ("kind", "status"), [(ImportStarted, "running"), (ImportCompleted, "completed")]
    )
    def test_a_single_event_gives_no_rate(self, kind: type[ImportTaskEvent], status: str) -> None:
        [view] = board_of(event(kind, 0, 0, status=status)).shown()
        assert view.rows_per_second() is None and view.eta_seconds() is None


class TestWhatIsShown:
    def test_imports_finished_before_the_watch_began_are_hidden(self) -> None:
        board = board_of(event(ImportCompleted, 0, 1000, status="completed"))
        board.hide_finished()
        assert board.shown() == []
        board.apply(event(ImportStarted, 1, 0).model_copy(update={"task_id": uuid4()}))
        assert len(board.shown()) == 1
