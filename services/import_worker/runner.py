"""Runs each import's read loop as a background task, never inside a message handler.

The Kafka command only says "start"; the read runs beside the consumers, renews a lease in
PostgreSQL as it goes, and records how far it got. A worker that dies loses its lease, and
any worker takes the task over from the last checkpoint (`services.import_worker.upkeep`).
A task's state changes only through shared.db.imports.
"""

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from faststream.kafka.publisher.usecase import DefaultPublisher

from services.import_worker import routing, storage
from services.import_worker.cells import check_cell, check_line
from services.import_worker.columns import Line
from services.import_worker.filetypes import BadFile, FileLimits
from services.import_worker.progress import Progress
from services.import_worker.readers import check_file, count_data_rows, kept_lines
from shared import logs, metrics, topics
from shared.contracts import IMPORT_WORKER, ImportRowsRead, RowRead
from shared.db import imports, quotas
from shared.db.imports import ImportTask, RowResult, Status
from shared.db.pool import tenant_transaction
from shared.faults import crash_point
from shared.kafka import partition_count
from shared.rules import NOT_PROCESSED, Rejection
from shared.settings import Settings

log = logging.getLogger(__name__)
READER_FAILED = BadFile(
    "reader_failed",
    "The file could not be read after several tries. Upload it again; if it fails again, "
    "contact support with the task id.",
)
Rows = Iterator[tuple[int, Line]]


class ImportRunner:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        rows_publisher: DefaultPublisher,
        progress: Progress,
        settings: Settings,
    ) -> None:
        self._pool, self._rows, self._progress = pool, rows_publisher, progress
        self._settings = settings
        self.limits = FileLimits(
            max_rows=settings.import_max_rows,
            max_csv_rows=settings.import_max_csv_rows,
            max_shared_strings=settings.import_max_shared_strings,
            max_cpu_seconds=settings.import_max_read_cpu_seconds,
            max_uncompressed_bytes=settings.import_max_uncompressed_bytes,
            max_zip_entries=settings.import_max_zip_entries,
            max_compression_ratio=settings.import_max_compression_ratio,
        )
        self._running: dict[UUID, tuple[str, asyncio.Task[None]]] = {}
        metrics.ACTIVE_IMPORTS.set_function(lambda: len(self._running))

    async def start(self, tenant_id: str, task_id: UUID) -> None:
        """Start reading the task's file unless it is read or another worker holds it."""
        if task_id in self._running:
            return
        async with tenant_transaction(self._pool, tenant_id) as conn:
            task = await imports.claim(
                conn,
                task_id=task_id,
                lease_seconds=self._settings.import_lease_seconds,
                max_running=self._settings.import_max_running_per_tenant,
            )
        if task is None:
            return
        # Crashed readers only: a graceful stop gives its attempt back, progress resets them.
        if task.read_attempts > self._settings.import_max_read_attempts:
            await self.fail(task, READER_FAILED)
            return
        running = logs.start_task(
            self._run(task), name=f"import {task_id}", tenant_id=tenant_id, task_id=str(task_id)
        )
        self._running[task_id] = (tenant_id, running)
        running.add_done_callback(lambda _: self._running.pop(task_id, None))

    async def stop(self) -> None:
        """Stop reading; the leases are handed back, so a worker can resume at once."""
        tasks = list(self._running.items())
        for _, (_, running) in tasks:
            running.cancel()
        for task_id, (tenant_id, running) in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await running
            async with tenant_transaction(self._pool, tenant_id) as conn:
                await imports.release(conn, task_id=task_id)

    async def fail(self, task: ImportTask, error: BadFile) -> None:
        async with tenant_transaction(self._pool, task.tenant_id) as conn:
            failed = await imports.fail(conn, task_id=task.id, code=error.code, message=str(error))
        if failed is not None:
            await self._progress.publish(failed)

    async def _run(self, task: ImportTask) -> None:
        try:
            with tempfile.TemporaryDirectory(prefix="import-") as folder:
                path = Path(folder) / "upload"
                await storage.download(
                    self._pool, tenant_id=task.tenant_id, task_id=task.id, path=path
                )
                await self._read(task, path)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Left to the lease: when it runs out, this or another worker takes the task over.
            log.exception("import %s stopped; it resumes when its lease runs out", task.id)

    async def _read(self, task: ImportTask, path: Path) -> None:
        try:
            kind = await asyncio.to_thread(check_file, path, self.limits)
            kept = path.with_name("lines")
            total = await asyncio.to_thread(count_data_rows, path, kind, self.limits, kept)
        except BadFile as error:
            await self.fail(task, error)
            return
        async with tenant_transaction(self._pool, task.tenant_id) as conn:
            started = await imports.start(
                conn,
                task_id=task.id,
                rows_total=total,
                lease_seconds=self._settings.import_lease_seconds,
            )
        if started is None:  # final meanwhile
            return
        if task.status is Status.PENDING and started.status is Status.RUNNING:
            await self._progress.publish(started, started=True)
        log.info(
            "import %s: %d data rows, sending those after row %d",
            task.id,
            total,
            started.last_row_sent,
        )
        rows = kept_lines(kept)
        try:
            await self._send(started, rows)
        finally:
            rows.close()
        log.info("import %s: every row read and sent", task.id)

    async def _send(self, task: ImportTask, rows: Rows) -> None:
        """Send the rows after the last checkpoint in batches, spread over the rows topic's
        partitions by number (`routing`); once the task is cancelling, report the rest
        `not_processed` instead.

        Each chunk is sent whole before its checkpoint, so a resume sends again at most the
        rows after it: the registry answers those from what it wrote (exactly once)."""
        partitions = await partition_count(self._settings, topics.IMPORT_ROWS)
        async with tenant_transaction(self._pool, task.tenant_id) as conn:
            usage = await quotas.usage(conn, tenant_id=task.tenant_id)
        whole_to = None  # a quota is decided by row number: the import on one partition
        if usage is not None and usage.allowed is not None:
            whole_to = routing.partition_of(task.tenant_id, partitions)
        rows_read = task.rows_read
        chunk_rows = self._settings.import_batch_rows * partitions  # ~a batch per partition
        while chunk := await asyncio.to_thread(next_rows, rows, chunk_rows, task.last_row_sent):
            if task.status is Status.CANCELLING:
                await self._progress.record(
                    task.tenant_id, task.id, [not_written(n, v, NOT_PROCESSED) for n, v in chunk]
                )
            else:
                valid, invalid = split(chunk)
                if valid:
                    await self._publish_chunk(task, valid, partitions, whole_to)
                    crash_point("worker.after_rows_sent")
                if invalid:
                    await self._progress.record(task.tenant_id, task.id, invalid)
            rows_read += len(chunk)
            metrics.IMPORT_ROWS_READ.inc(len(chunk))
            async with tenant_transaction(self._pool, task.tenant_id) as conn:
                checked = await imports.checkpoint(
                    conn,
                    task_id=task.id,
                    rows_read=rows_read,
                    last_row_sent=chunk[-1][0],
                    lease_seconds=self._settings.import_lease_seconds,
                )
            if checked is None:  # failed meanwhile: nothing more to read
                return
            if checked.status.final:  # this checkpoint finished it
                await self._progress.publish(checked)
                return
            task = checked

    async def _publish_chunk(
        self, task: ImportTask, rows: list[RowRead], partitions: int, whole_to: int | None
    ) -> None:
        """Each partition's rows in row order, partitions side by side: a partition's batches
        go one after the other, so its registry instance sees a number's rows in file order.
        `whole_to`: every row to that partition (routing)."""
        max_bytes = self._settings.import_batch_max_bytes
        envelope = {
            "tenant_id": task.tenant_id,
            "task_id": task.id,
            "org_unit_id": task.org_unit_id,
            "description": task.description,
            "dry_run": task.dry_run,
        }  # the uploader's rights are read from the task; the batch names the worker

        key = task.tenant_id.encode()

        async def to_partition(partition: int, rows: list[RowRead]) -> None:
            for data in batches(rows, max_bytes, **envelope):
                await self._rows.publish(data, key=key, partition=partition)

        by_partition = routing.by_partition(rows, partitions, whole_to=whole_to)
        await asyncio.gather(*(to_partition(p, rows) for p, rows in by_partition.items()))


def batches(rows: list[RowRead], max_bytes: int, **envelope: Any) -> Iterator[bytes]:
    """The rows as ImportRowsRead messages (JSON), in file order, each within `max_bytes` or of
    one row alone: the rows are halved until they fit. `envelope`: the message's other fields
    (tenant_id, task_id, org_unit_id, description, dry_run); each message gets its own id."""
    message = ImportRowsRead(principal=IMPORT_WORKER, rows=[], **envelope)
    data = orjson.dumps({**message.model_dump(mode="json"), "rows": rows})
    if len(data) <= max_bytes or len(rows) == 1:
        yield data
        return
    half = len(rows) // 2
    yield from batches(rows[:half], max_bytes, **envelope)
    yield from batches(rows[half:], max_bytes, **envelope)


def next_rows(rows: Rows, count: int, after_row: int = 0) -> list[tuple[int, Line]]:
    """The next `count` rows past `after_row` (rows up to it were sent before a restart)."""
    return list(islice((row for row in rows if row[0] > after_row), count))


def split(chunk: list[tuple[int, Line]]) -> tuple[list[RowRead], list[RowResult]]:
    """The rows whose cells have the right format, and the results of the others."""
    valid: list[RowRead] = []
    invalid: list[RowResult] = []
    for row_number, line in chunk:
        if line.org_unit is None and line.description is None:  # the hot path: column A alone
            as_written, number, rejection = check_cell(line.number)
            if rejection is None:
                valid.append({"row_number": row_number, "number": number, "as_written": as_written})
            else:
                invalid.append(failed_row(row_number, as_written, rejection))
            continue
        checked = check_line(line)
        if checked.rejection is None:
            row: RowRead = {
                "row_number": row_number,
                "number": checked.number,
                "as_written": checked.as_written,
            }
            if checked.org_unit is not None:
                row["org_unit"] = checked.org_unit
            if checked.description is not None:
                row["description"] = checked.description
            valid.append(row)
        else:
            invalid.append(
                failed_row(
                    row_number,
                    checked.as_written,
                    checked.rejection,
                    org_unit=checked.org_unit,
                    description=checked.description,
                )
            )
    return valid, invalid


def not_written(row_number: int, line: Line, rejection: Rejection) -> RowResult:
    checked = check_line(line)
    return failed_row(
        row_number,
        checked.as_written,
        rejection,
        org_unit=checked.org_unit,
        description=checked.description,
    )


def failed_row(
    row_number: int,
    as_written: str,
    rejection: Rejection,
    *,
    org_unit: str | None = None,
    description: str | None = None,
) -> RowResult:
    return RowResult(
        row_number=row_number,
        as_written=as_written,
        succeeded=False,
        reason_code=rejection.reason,
        reason=rejection.message,
        org_unit=org_unit,
        description=description,
    )
