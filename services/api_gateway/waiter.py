"""Waits for a command's outcome (`Prefer: wait=N`), woken by the registry's NOTIFY."""

import asyncio
import contextlib
from collections.abc import Iterator
from uuid import UUID

import asyncpg

from shared.db import commands
from shared.db.commands import StoredOutcome
from shared.db.pool import tenant_transaction

_CHANNEL = "command_processed"
# A lost notification (e.g. while the listening connection reconnects) costs at most this.
_RECHECK_SECONDS = 0.5


class CommandWaiter:
    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._conn: asyncpg.Connection | None = None

    async def start(self, dsn: str) -> None:
        self._conn = await asyncpg.connect(dsn)
        await self._conn.add_listener(_CHANNEL, self._on_notify)

    async def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing anyway; nothing to report
                await self._conn.close()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        for event in self._waiting.get(str(payload), ()):
            event.set()

    @contextlib.contextmanager
    def expecting(self, *, tenant_id: str, command_id: UUID) -> Iterator["Expected"]:
        """Listens for the command's NOTIFY from now on. Entered before the command is
        published, the wait needs no read until the notification: none can come earlier."""
        key, event = f"{tenant_id}/{command_id}", asyncio.Event()
        self._waiting.setdefault(key, set()).add(event)
        try:
            yield Expected(tenant_id, command_id, event)
        finally:
            self._waiting[key].discard(event)
            if not self._waiting[key]:
                del self._waiting[key]

    async def wait(
        self, pool: asyncpg.Pool, *, tenant_id: str, command_id: UUID, seconds: float
    ) -> StoredOutcome | None:
        """The outcome, or None if the command is not processed within `seconds`; for a command
        that may be processed already (its outcome is read first)."""
        with self.expecting(tenant_id=tenant_id, command_id=command_id) as expected:
            return await expected.outcome(pool, seconds=seconds, read_first=True)


class Expected:
    def __init__(self, tenant_id: str, command_id: UUID, event: asyncio.Event) -> None:
        self.tenant_id, self.command_id, self._event = tenant_id, command_id, event

    async def outcome(
        self, pool: asyncpg.Pool, *, seconds: float, read_first: bool = False
    ) -> StoredOutcome | None:
        """The outcome, or None if the command is not processed within `seconds`. Read when
        notified, and every _RECHECK_SECONDS in case a notification was lost."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        read = read_first
        while True:
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
                await asyncio.wait_for(self._event.wait(), min(left, _RECHECK_SECONDS))
            read = True
