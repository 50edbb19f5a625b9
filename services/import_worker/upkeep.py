"""The worker's periodic upkeep: every task ends by itself, and finished ones are deleted on time.

Each period, any worker (all of them do it; the transitions make doing it twice harmless):
- starts tasks whose Kafka command was lost and resumes those whose reader died;
- ends tasks with no progress for IMPORT_STALL_SECONDS, counted only while Kafka and
  PostgreSQL answer (an outage is waited out): a task still being read fails `stalled`; a read
  one whose row results were lost gets them settled (`settle`) and completes;
- stores the report of finished tasks that have none (a crash between the end and the report);
- deletes the row results, report and file of tasks finished IMPORT_RETENTION_DAYS ago, and
  (every AUDIT_RETENTION_INTERVAL_SECONDS only) the caller numbers' audit records older than
  AUDIT_RETENTION_DAYS.
"""

import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg

from services.import_worker import reports, storage
from services.import_worker.columns import Line
from services.import_worker.filetypes import BadFile
from services.import_worker.progress import Progress
from services.import_worker.readers import check_file
from services.import_worker.readers import iter_lines as read_rows
from services.import_worker.runner import ImportRunner, failed_row, next_rows, split
from shared.db import Connection, audit, imports
from shared.db.imports import ImportTask, RowResult, Status
from shared.db.pool import audit_retention_transaction, takeover_transaction, tenant_transaction
from shared.rules import NOT_APPLIED, NOT_PROCESSED
from shared.settings import Settings

log = logging.getLogger(__name__)
STALLED = BadFile(
    "stalled",
    "The import made no progress for a long time while every service was up. Upload it "
    "again; if it stops again, contact support with the task id.",
)


class Upkeep:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        runner: ImportRunner,
        progress: Progress,
        settings: Settings,
        services_answer: Callable[[], Awaitable[bool]],
    ) -> None:
        self._pool, self._runner, self._progress = pool, runner, progress
        self._settings, self._services_answer = settings, services_answer
        # A worker that just started has not seen the services answer for long.
        self._answering_since = time.monotonic()
        self._audit_retention_due = 0.0  # the first period looks, then every interval

    async def forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.import_takeover_interval_seconds)  # a period
            for step in (
                self.take_over,
                self.end_stalled,
                self.store_reports,
                self.apply_retention,
                self.apply_audit_retention,
            ):
                try:
                    await step()
                except Exception as error:  # a supervisor loop: log it and look again next period
                    log.warning("import upkeep (%s) failed: %r", step.__name__, error)

    async def take_over(self) -> None:
        """Start tasks whose command was lost and resume those whose reader died."""
        async with takeover_transaction(self._pool) as conn:
            tasks = await imports.tasks_to_take_over(
                conn, pending_grace_seconds=self._settings.import_pending_grace_seconds
            )
        for task in tasks:
            await self._runner.start(task["tenant_id"], task["id"])

    async def end_stalled(self) -> None:
        if not await self._services_answer():
            self._answering_since = time.monotonic()
            return
        stall_seconds = self._settings.import_stall_seconds
        if time.monotonic() - self._answering_since < stall_seconds:
            return
        async with takeover_transaction(self._pool) as conn:
            tasks = await imports.stalled_tasks(conn, stall_seconds=stall_seconds)
        for task in tasks:
            await self._end(task["tenant_id"], task["id"])

    async def _end(self, tenant_id: str, task_id: UUID) -> None:
        async with tenant_transaction(self._pool, tenant_id) as conn:
            task = await imports.get_task(conn, task_id=task_id)
        if task is None or task.status.final:
            return
        if not task.reading_done:
            log.error("import %s made no progress while reading: failed", task_id)
            await self._runner.fail(task, STALLED)
            return
        await self.settle(task)

    async def settle(self, task: ImportTask) -> None:
        """Give each row whose result was lost the result it has: success if the registry
        wrote it, else `not_applied` (`not_processed` once cancelling), then finish the task.
        Holds the task's lock, so no registry writes its rows meanwhile."""
        with tempfile.TemporaryDirectory(prefix="settle-") as folder:
            path = Path(folder) / "upload"
            await storage.download(self._pool, tenant_id=task.tenant_id, task_id=task.id, path=path)
            try:
                kind = await asyncio.to_thread(check_file, path, self._runner.limits)
            except BadFile as error:  # it was read before: only a changed file gets here
                await self._runner.fail(task, error)
                return
            rows = read_rows(path, kind, self._runner.limits)
            try:
                async with tenant_transaction(self._pool, task.tenant_id) as conn:
                    locked = await imports.lock_to_settle(conn, task_id=task.id)
                    if locked is None or locked.status.final:
                        return
                    settled, finished = 0, None
                    batch = self._settings.import_batch_rows
                    while chunk := await asyncio.to_thread(next_rows, rows, batch):
                        missing = await imports.rows_without_result(
                            conn, task_id=task.id, rows=[n for n, _ in chunk]
                        )
                        if not missing:
                            continue
                        results = await _lost(conn, locked, [r for r in chunk if r[0] in missing])
                        _, finished = await imports.record_results(
                            conn, task_id=task.id, results=results
                        )
                        settled += len(results)
                    if finished is None:  # nothing was lost after all: the counters decide
                        _, finished = await imports.record_results(
                            conn, task_id=task.id, results=[]
                        )
            finally:
                rows.close()
        if finished is not None:
            if settled:
                log.error("import %s: %d rows had lost their result; settled", task.id, settled)
            else:  # every result was stored; the answer that would have finished it was lost
                log.warning("import %s: every row had its result; finished", task.id)
            await self._progress.publish(finished)
        else:  # every row has a result and still the counters do not add up: a bug
            log.error("import %s: no row lost, yet not finished: failed", task.id)
            await self._runner.fail(task, STALLED)

    async def store_reports(self) -> None:
        """Store the report of completed or cancelled tasks that have none yet."""
        async with takeover_transaction(self._pool) as conn:
            tasks = await imports.tasks_without_report(conn)
        for task in tasks:
            if await reports.store(self._pool, tenant_id=task["tenant_id"], task_id=task["id"]):
                log.info("import %s: report stored by upkeep", task["id"])

    async def apply_retention(self) -> None:
        """Delete the row results and file of tasks finished longer ago than the retention."""
        retention_seconds = self._settings.import_retention_days * 86400
        async with takeover_transaction(self._pool) as conn:
            tasks = await imports.tasks_past_retention(conn, retention_seconds=retention_seconds)
        for task in tasks:
            async with tenant_transaction(self._pool, task["tenant_id"]) as conn:
                if await imports.delete_results(conn, task_id=task["id"]):
                    log.info("import %s: row results deleted (retention)", task["id"])

    async def apply_audit_retention(self) -> None:
        """Delete audit records older than AUDIT_RETENTION_DAYS, a batch per transaction, once
        per AUDIT_RETENTION_INTERVAL_SECONDS."""
        if time.monotonic() < self._audit_retention_due:
            return
        self._audit_retention_due = (
            time.monotonic() + self._settings.audit_retention_interval_seconds
        )
        cutoff = datetime.now(UTC) - timedelta(days=self._settings.audit_retention_days)
        while True:
            async with audit_retention_transaction(self._pool) as conn:
                deleted = await audit.delete_before(conn, cutoff=cutoff, batch=_AUDIT_BATCH)
            if deleted:
                log.info("%d audit records deleted (retention)", deleted)
            if deleted < _AUDIT_BATCH:
                return


_AUDIT_BATCH = 10_000


async def _lost(
    conn: Connection, task: ImportTask, rows: list[tuple[int, Line]]
) -> list[RowResult]:
    valid, invalid = split(rows)
    written = await imports.rows_written(
        conn,
        tenant_id=task.tenant_id,
        task_id=task.id,
        rows=[r["row_number"] for r in valid],
        dry_run=task.dry_run,
    )
    rejection = NOT_PROCESSED if task.status is Status.CANCELLING else NOT_APPLIED
    return invalid + [
        RowResult(
            row_number=row["row_number"],
            as_written=row["as_written"],
            succeeded=True,
            org_unit=row.get("org_unit"),
            description=row.get("description"),
        )
        if row["row_number"] in written
        else failed_row(
            row["row_number"],
            row["as_written"],
            rejection,
            org_unit=row.get("org_unit"),
            description=row.get("description"),
        )
        for row in valid
    ]
