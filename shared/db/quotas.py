"""The tenant's quota of caller numbers: how many it has and may have, and which new numbers fit.

The count is kept by triggers (migration 0013) in the transaction of every insert and delete.
`admit` decides under the tenant row's lock, held until commit, so adds and imports that race
never take more places than are left."""

from collections.abc import Sequence
from typing import NamedTuple
from uuid import UUID

from shared.db import Connection, queries
from shared.rules import Rejection, quota_exceeded, quota_room


class Usage(NamedTuple):
    used: int
    allowed: int | None  # None: unlimited

    @property
    def room(self) -> int | None:
        """How many more numbers fit; None: unlimited."""
        return quota_room(used=self.used, allowed=self.allowed)


class Admission(NamedTuple):
    """The numbers that do not fit (the rest may be written), and the usage once they are."""

    over_quota: frozenset[str]
    usage: Usage | None  # None: the tenant is unlimited, nothing was counted

    def rejection(self) -> Rejection:
        """Why each number of `over_quota` is refused: the quota, with the places used."""
        assert self.usage is not None and self.usage.allowed is not None
        return quota_exceeded(used=self.usage.used, allowed=self.usage.allowed)


UNLIMITED = Admission(frozenset(), None)


async def usage(conn: Connection, *, tenant_id: str) -> Usage | None:
    """The tenant's count and quota as committed now (no lock); None if there is no tenant.
    A dry run checks its new numbers, in row order, against it with `over_quota`."""
    row = await conn.fetchrow(queries.SELECT_CALLER_NUMBER_USAGE, tenant_id)
    return None if row is None else Usage(row["used"], row["allowed"])


async def admit(conn: Connection, *, tenant_id: str, numbers: Sequence[str]) -> Admission:
    """Which of `numbers` (in the order given: the first new ones get the places left) are new
    and do not fit. Numbers the tenant has already are not counted (they fail as duplicates).
    A tenant with a quota stays locked for its other writers until this transaction ends."""
    row = await conn.fetchrow(queries.LOCK_CALLER_NUMBER_QUOTA, tenant_id)
    if row is None:
        return UNLIMITED
    before = Usage(row["used"], row["allowed"])
    wanted = list(dict.fromkeys(numbers))
    existing = {
        record["number"]
        for record in await conn.fetch(queries.SELECT_EXISTING_NUMBERS, tenant_id, wanted)
    }
    new = [number for number in wanted if number not in existing]
    over = over_quota(new, before)
    admitted = len(new) - len(over)
    return Admission(over, Usage(before.used + admitted, before.allowed))


async def admit_preview(
    conn: Connection, *, tenant_id: str, task_id: UUID, new_numbers: Sequence[str]
) -> Admission:
    """A dry run's `admit`: `new_numbers` (in row order, no repeats) were just recorded in
    import_preview_number as numbers the import would create; those past the places left,
    counting the ones the dry run's earlier batches took, are taken out of it again (so a
    later row with one of them is refused as the import would refuse it)."""
    now = await usage(conn, tenant_id=tenant_id)
    if now is None or now.allowed is None:
        return UNLIMITED
    recorded: int = await conn.fetchval(queries.COUNT_PREVIEW_NUMBERS, task_id)
    before = Usage(now.used + recorded - len(new_numbers), now.allowed)
    over = over_quota(new_numbers, before)
    if over:
        await conn.execute(queries.FORGET_PREVIEW_NUMBERS, task_id, sorted(over))
    return Admission(over, Usage(before.used + len(new_numbers) - len(over), now.allowed))


def over_quota(new_numbers: Sequence[str], usage: Usage) -> frozenset[str]:
    """Of numbers new to the tenant, in order (no repeats), those past the places left: the
    rule `admit` applies, and what a dry run applies without writing (with `usage()`)."""
    room = usage.room
    return frozenset() if room is None else frozenset(new_numbers[room:])
