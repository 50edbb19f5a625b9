"""Following an import in a fault test, and the checker's view of how it ended."""

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from shared.db.pool import tenant_transaction
from tests.waiting import deadline

IMPORTS = "/api/v1/caller-number-imports"
FINAL = {"completed", "failed", "cancelled"}


def report_settled(task: dict[str, Any]) -> bool:
    """A failed task has no report; a completed or cancelled one is offered once it is stored."""
    stored = task["report_ready"] or task["results_deleted_at"] is not None
    return bool(task["status"] == "failed" or stored)


async def upload(gateway: httpx.AsyncClient, headers: dict[str, str], content: bytes) -> str:
    response = await gateway.post(IMPORTS, files={"file": ("n.csv", content)}, headers=headers)
    assert response.status_code == 202, response.text
    task_id: str = response.json()["id"]
    return task_id


async def until_final(
    gateway: httpx.AsyncClient,
    headers: dict[str, str],
    task_id: str,
    *,
    seconds: float = 60,
    on_progress: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """The task once it reaches a final state by itself and its report is stored (or deleted
    by retention) (`on_progress(task)` on the way)."""
    task: dict[str, Any] = {}
    async for _ in deadline(seconds, every=0.05):
        response = await gateway.get(f"{IMPORTS}/{task_id}", headers=headers)
        if response.status_code != 200:
            continue  # e.g. 503 while PostgreSQL is away
        task = response.json()
        if task["status"] in FINAL and report_settled(task):
            return task
        if on_progress is not None:
            await on_progress(task)
    raise AssertionError(f"import {task_id} never reached a final state: {task}")


@dataclass
class Report:
    lines: list[list[str]]  # data lines, without the header

    @property
    def reasons(self) -> list[str]:
        return [line[3] for line in self.lines]


async def report(gateway: httpx.AsyncClient, headers: dict[str, str], task_id: str) -> Report:
    response = await gateway.get(f"{IMPORTS}/{task_id}/result?format=csv", headers=headers)
    assert response.status_code == 200, response.text
    return Report(list(csv.reader(io.StringIO(response.text)))[1:])


def assert_every_row_told(task: dict[str, Any], report: Report, data_rows: int) -> None:
    """The checker for an import: one report line per data row, row numbers 2..n+1 in order,
    and counters that add up to them."""
    counters = task["counters"]
    assert [int(line[0]) for line in report.lines] == list(range(2, data_rows + 2))
    assert counters["rows_total"] == counters["rows_read"] == data_rows, counters
    told = counters["succeeded"] + counters["failed"] + counters["not_processed"]
    assert told == data_rows, counters
    assert sum(line[2] == "success" for line in report.lines) == counters["succeeded"]


async def numbers_stored(db: asyncpg.Pool, tenant: str) -> int:
    """How many numbers the tenant has; each must have exactly one audit record, `created` by
    the task and row that wrote it, however often its batch was delivered."""
    async with tenant_transaction(db, tenant) as conn:
        stored = await conn.fetch("SELECT id, import_task_id, import_row FROM caller_number")
        audited = await conn.fetch(
            "SELECT caller_number_id, import_task_id, import_row FROM caller_number_audit "
            "WHERE action = 'created'"
        )
    assert sorted(map(tuple, audited)) == sorted(map(tuple, stored))
    return len(stored)


async def file_chunks(db: asyncpg.Pool, tenant: str, task_id: str) -> int:
    async with tenant_transaction(db, tenant) as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM import_file_chunk WHERE task_id = $1::uuid", task_id
        )
    return count


class Clock:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 1)


def numbers_csv(rows: int, *, prefix: str = "5") -> bytes:
    lines = ["Caller Number", *(f"{prefix}{row:011d}" for row in range(rows))]
    return ("\r\n".join(lines) + "\r\n").encode()
