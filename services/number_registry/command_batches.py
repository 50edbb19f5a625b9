"""Applies the caller-number commands of one Kafka fetch together: one transaction per tenant
instead of one per command. Each command takes `registry.apply`'s steps in offset order, so two
commands on one number apply in the order sent; the claims, the outcomes and their NOTIFYs are
one statement each for the whole batch, and the tenant's policy is read once per transaction
(a policy change committed meanwhile applies from the next batch on, as if made just after).

A command that fails (a bug some messages meet, not an outage) undoes none of the others: the
transaction is rolled back, the commands before it are applied again and committed, and it is
retried alone, then dead-lettered after its attempts; the commands after it follow. So a
failure costs a second pass over the batch, and the usual batch no savepoint per command.
An outage (TRANSIENT_ERRORS) propagates: the whole batch comes again and the commands already
committed answer with their stored outcomes."""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import ValidationError

from services.number_registry import registry
from services.number_registry.registry import header_of
from shared.access import TenantPolicy
from shared.contracts import CallerNumberCommand, CommandHeader, CreateCallerNumbers, NumberOutcome
from shared.db import Connection, commands, tenants
from shared.db.pool import tenant_transaction
from shared.faults import crash_point, fail_point
from shared.kafka import TRANSIENT_ERRORS, backoff
from shared.signing import Verifier

log = logging.getLogger(__name__)

Command = CallerNumberCommand | registry.Unappliable


@dataclass(frozen=True)
class Answered:
    """A command applied now, or answered from its stored outcome (a redelivery)."""

    record: Any  # aiokafka's ConsumerRecord
    command: Command
    applied: registry.Applied

    @property
    def header(self) -> CommandHeader | CallerNumberCommand:
        return header_of(self.command)


@dataclass(frozen=True)
class Letter:
    """A record for the dead-letter topic: aiokafka's ConsumerRecord, why, after how many tries."""

    record: Any
    error: Exception
    attempts: int


@dataclass
class BatchOutcome:
    answered: list[Answered] = field(default_factory=list)  # each tenant's in offset order
    letters: list[Letter] = field(default_factory=list)


def read_record(record: Any, verifier: Verifier) -> Command:
    """The command in one ConsumerRecord, its sender verified; raises ValidationError if not
    even its id is readable. Every check of a single record belongs here."""
    return registry.read(record, verifier)


async def apply_batch(
    pool: asyncpg.Pool, records: Sequence[Any], verifier: Verifier, *, max_attempts: int
) -> BatchOutcome:
    """Applies `records` (ConsumerRecords of the commands topic, in fetch order) and says what
    to publish: the events of every answered command, then the dead letters."""
    outcome = BatchOutcome()
    by_tenant: dict[str, list[tuple[Any, Command]]] = {}
    for record in records:
        try:
            command = read_record(record, verifier)
        except ValidationError as error:
            outcome.letters.append(Letter(record, error, attempts=1))
            continue
        by_tenant.setdefault(command.tenant_id, []).append((record, command))
    for tenant_id, tenant_batch in by_tenant.items():
        await _apply_in_order(pool, tenant_id, tenant_batch, max_attempts, outcome)
    # Answered, and dead-lettered as well: the dead letter keeps the message.
    outcome.letters += (
        Letter(answered.record, answered.command.error, attempts=1)
        for answered in outcome.answered
        if isinstance(answered.command, registry.Unappliable)
    )
    return outcome


class _Failed(Exception):
    """The command at `index` failed; `shared` when it was one of several in a statement."""

    def __init__(self, index: int, error: Exception, *, shared: bool = False) -> None:
        super().__init__(index, error)
        self.index, self.error, self.shared = index, error, shared


async def _apply_in_order(
    pool: asyncpg.Pool,
    tenant_id: str,
    batch: list[tuple[Any, Command]],
    max_attempts: int,
    outcome: BatchOutcome,
) -> None:
    start, end = 0, len(batch)
    while start < len(batch):
        try:
            outcome.answered += await _apply_together(pool, tenant_id, batch[start:end])
        except _Failed as failed:
            if failed.index > 0:  # first the ones before it, then it
                end = start + failed.index
                continue
            if failed.shared and end > start + 1:  # which one of the statement: each alone
                end = start + 1
                continue
            record, command = batch[start]
            answered = await _retry_alone(pool, tenant_id, record, command, failed, max_attempts)
            if isinstance(answered, Letter):
                outcome.letters.append(answered)
            else:
                outcome.answered.append(answered)
            start += 1
        else:
            start = end
        end = len(batch)


async def _apply_together(
    pool: asyncpg.Pool, tenant_id: str, batch: Sequence[tuple[Any, Command]]
) -> list[Answered]:
    """`registry.apply`'s steps for many commands in one transaction: claim them all, decide
    each new one in order (consecutive creates with one INSERT), save all outcomes (and their
    NOTIFYs). A command id seen twice answers the second time as the first. Raises
    _Failed(index) for the first that fails."""
    headers = [header_of(command) for _, command in batch]
    claims = {
        header.message_id: commands.Claim(
            header.message_id,
            registry.command_type(command),
            header.principal.sub if header.principal else "",
        )
        for header, (_, command) in zip(headers, batch, strict=True)
    }
    for index, header in enumerate(headers):
        try:
            fail_point("registry.command", str(header.message_id))
        except Exception as error:
            raise _Failed(index, error) from error
    async with tenant_transaction(pool, tenant_id) as conn:
        claimed = await commands.claim_many(conn, tenant_id=tenant_id, claims=list(claims.values()))
        before = [command_id for command_id in claims if command_id not in claimed]
        stored = {}
        if before:
            stored = await commands.get_outcomes(conn, tenant_id=tenant_id, command_ids=before)
        done = {command_id: registry.answered_before(stored[command_id]) for command_id in before}
        new, seen = [], set()  # the new ones, the first delivery of each, in order
        for index, ((_, command), header) in enumerate(zip(batch, headers, strict=True)):
            if header.message_id in claimed and header.message_id not in seen:
                new.append((index, command))
            seen.add(header.message_id)
        policy = await tenants.load_policy(conn, tenant_id=tenant_id) if claimed else None
        for run in _runs(new):
            try:
                decided = await _decide_run(conn, [command for _, command in run], policy)
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                raise _Failed(run[0][0], error, shared=len(run) > 1) from error
            for (_, command), outcomes in zip(run, decided, strict=True):
                command_id = header_of(command).message_id
                done[command_id] = registry.Applied(outcomes, claimed[command_id])
            crash_point("registry.mid_batch")
        if new:
            await commands.save_outcomes(
                conn,
                tenant_id=tenant_id,
                outcomes={
                    command_id: [o.model_dump(mode="json") for o in done[command_id].outcomes]
                    for command_id in (header_of(command).message_id for _, command in new)
                },
            )
    return [
        Answered(record, command, done[header.message_id])
        for header, (record, command) in zip(headers, batch, strict=True)
    ]


def _runs(new: list[tuple[int, Command]]) -> list[list[tuple[int, Command]]]:
    """Consecutive creates together; every other command alone."""
    runs: list[list[tuple[int, Command]]] = []
    for index, command in new:
        creates = isinstance(command, CreateCallerNumbers)
        if creates and runs and isinstance(runs[-1][-1][1], CreateCallerNumbers):
            runs[-1].append((index, command))
        else:
            runs.append([(index, command)])
    return runs


async def _decide_run(
    conn: Connection, run: list[Command], policy: TenantPolicy | None
) -> list[list[NumberOutcome]]:
    creates = [c for c in run if isinstance(c, CreateCallerNumbers)]
    if len(run) > 1 and len(creates) == len(run):
        return await registry.create_many(conn, creates, policy)
    return [await registry.decide(conn, command, policy) for command in run]


async def _retry_alone(
    pool: asyncpg.Pool,
    tenant_id: str,
    record: Any,
    command: Command,
    failed: _Failed,
    max_attempts: int,
) -> Answered | Letter:
    """The failed command on its own, `max_attempts` times in all; a dead letter if it never
    passes. Its partition waits meanwhile, as it would for the message alone."""
    error = failed.error
    for attempt in range(1, max_attempts):
        where = (record.topic, record.partition, record.offset)
        log.warning("attempt %d at %s failed: %r", attempt, where, error)
        await asyncio.sleep(backoff(attempt))
        try:
            [answered] = await _apply_together(pool, tenant_id, [(record, command)])
        except _Failed as again:
            error = again.error
        else:
            return answered
    return Letter(record, error, attempts=max_attempts)
