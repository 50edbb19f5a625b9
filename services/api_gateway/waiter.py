"""Waits for a command's outcome (`Prefer: wait=N`), woken by the registry's NOTIFY."""

import asyncio
import contextlib
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

    async def wait(
        self, pool: asyncpg.Pool, *, tenant_id: str, command_id: UUID, seconds: float
    ) -> StoredOutcome | None:
        """The outcome, or None if the command is not processed within `seconds`."""
        key, event = f"{tenant_id}/{command_id}", asyncio.Event()
        self._waiting.setdefault(key, set()).add(event)
        deadline = asyncio.get_running_loop().time() + seconds
        try:
            while True:
                async with tenant_transaction(pool, tenant_id) as conn:
                    outcome = await commands.get_outcome(
                        conn, tenant_id=tenant_id, command_id=command_id
                    )
                left = deadline - asyncio.get_running_loop().time()
                if outcome is not None or left <= 0:
                    return outcome
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(left, _RECHECK_SECONDS))
        finally:
            self._waiting[key].discard(event)
            if not self._waiting[key]:
                del self._waiting[key]
