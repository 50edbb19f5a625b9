"""Waits for a command's outcome (`Prefer: wait=N`), woken by the registry's NOTIFY."""

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from shared.db import commands
from shared.db.commands import StoredOutcome
from shared.db.pool import tenant_transaction

log = logging.getLogger(__name__)

_CHANNEL = "command_processed"
# A lost notification (e.g. while the listening connection reconnects) costs at most this.
_RECHECK_SECONDS = 0.5


class _Waiting:
    """One request waiting for a command: woken by its NOTIFY, which may carry the outcome."""

    __slots__ = ("event", "outcome")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.outcome: StoredOutcome | None = None


class CommandWaiter:
    def __init__(self) -> None:
        self._waiting: dict[str, set[_Waiting]] = {}
        self._conn: asyncpg.Connection | None = None

    async def start(self, dsn: str) -> None:
        self._conn = await asyncpg.connect(dsn)
        await self._conn.add_listener(_CHANNEL, self._on_notify)

    async def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing anyway; nothing to report
                await self._conn.close()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        # [tenant, command id], plus [processed_at, outcome] when they fit the payload
        # (shared/db/queries.py: SAVE_COMMAND_OUTCOMES); the outcome is read only if one waits.
        try:
            tenant_id, command_id, *carried = orjson.loads(str(payload))
        except (ValueError, TypeError):  # names no command: whoever waits polls
            log.warning("unreadable command_processed notification: %.200r", payload)
            return
        waiting = self._waiting.get(f"{tenant_id}/{command_id}", ())
        outcome = None
        if waiting and carried:
            try:
                outcome = _carried_outcome(carried)
            except (ValueError, TypeError):  # woken all the same: it reads the outcome
                log.warning("unreadable outcome in notification: %.200r", payload)
        for one in waiting:
            one.outcome = outcome
            one.event.set()

    @contextlib.contextmanager
    def expecting(self, *, tenant_id: str, command_id: UUID) -> Iterator["Expected"]:
        """Listens for the command's NOTIFY from now on. Entered before the command is
        published, the wait needs no read until the notification: none can come earlier."""
        key, waiting = f"{tenant_id}/{command_id}", _Waiting()
        self._waiting.setdefault(key, set()).add(waiting)
        try:
            yield Expected(tenant_id, command_id, waiting)
        finally:
            self._waiting[key].discard(waiting)
            if not self._waiting[key]:
                del self._waiting[key]

    async def wait(
        self, pool: asyncpg.Pool, *, tenant_id: str, command_id: UUID, seconds: float
    ) -> StoredOutcome | None:
        """The outcome, or None if the command is not processed within `seconds`; for a command
        that may be processed already (its outcome is read first)."""
        with self.expecting(tenant_id=tenant_id, command_id=command_id) as expected:
            return await expected.outcome(pool, seconds=seconds, read_first=True)


def _carried_outcome(carried: list[Any]) -> StoredOutcome:
    processed_at, results = carried
    return StoredOutcome(list(results), datetime.fromisoformat(processed_at))


class Expected:
    def __init__(self, tenant_id: str, command_id: UUID, waiting: _Waiting) -> None:
        self.tenant_id, self.command_id, self._waiting = tenant_id, command_id, waiting

    async def outcome(
        self, pool: asyncpg.Pool, *, seconds: float, read_first: bool = False
    ) -> StoredOutcome | None:
        """The outcome, or None if the command is not processed within `seconds`: from the
        NOTIFY when it carried it, else read when notified, and every _RECHECK_SECONDS in case
        a notification was lost."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        read = read_first
        while True:
            if self._waiting.outcome is not None:
                return self._waiting.outcome
            if read:
                async with tenant_transaction(pool, self.tenant_id) as conn:
                    outcome = await commands.get_outcome(
                        conn, tenant_id=self.tenant_id, command_id=self.command_id
                    )
                if outcome is not None:
                    return outcome
            left = deadline - loop.time()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._waiting.event.wait(), min(left, _RECHECK_SECONDS))
            read = True
