"""The imports as a rich table: a progress bar, rows/s and ETA per task."""

from rich import box
from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table

from ops.board import TaskView

STATUS_STYLE = {"completed": "green", "failed": "red", "cancelled": "yellow", "running": "cyan"}


def board_table(views: list[TaskView], *, title: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("task", min_width=8, no_wrap=True)
    table.add_column("tenant", overflow="ellipsis", no_wrap=True)
    table.add_column("status", min_width=9, no_wrap=True)
    table.add_column("progress", min_width=19, no_wrap=True)
    for name in ("rows/s", "ETA", "rows done", "failed (dup)"):
        table.add_column(name, min_width=max(len(name), 5), justify="right", no_wrap=True)
    for view in views:
        counters = view.last.counters
        table.add_row(
            str(view.task_id)[:8],
            view.tenant_id,
            f"[{STATUS_STYLE.get(view.status, '')}]{view.status}[/]",
            _bar(view),
            _rate(view.rows_per_second()),
            _duration(view.eta_seconds()),
            f"{view.done:,}/{view.total:,}" if view.total is not None else f"{view.done:,}",
            f"{counters.failed:,} ({counters.duplicates:,})",
        )
    return table


def _bar(view: TaskView) -> RenderableType:
    if not view.total:
        return "counting rows..." if view.status == "running" else ""
    bar = Table.grid(padding=(0, 1))
    percent = f"{100 * view.done / view.total:3.0f}%"
    bar.add_row(ProgressBar(total=view.total, completed=view.done, width=14), percent)
    return bar


def _rate(rows_per_second: float | None) -> str:
    return f"{rows_per_second:,.0f}" if rows_per_second is not None else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"
