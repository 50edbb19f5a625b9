"""Applies the caller-number commands of one Kafka fetch together: one transaction per tenant
instead of one per command, each command still through `registry.apply` in offset order.

A command that fails (a bug some messages meet, not an outage) undoes none of the others: the
transaction is rolled back, the commands before it are applied again and committed, and it is
retried alone, then dead-lettered after its attempts; the commands after it follow. So a
failure costs a second pass over the batch, and the usual batch no savepoint per command.
An outage (TRANSIENT_ERRORS) propagates: the whole batch comes again and the commands already
committed answer with their stored outcomes."""

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import ValidationError

from services.number_registry import registry
from shared.contracts import CallerNumberCommand, CommandHeader
from shared.db.pool import tenant_transaction
from shared.faults import crash_point, fail_point
from shared.kafka import TRANSIENT_ERRORS, backoff

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


def header_of(command: Command) -> CommandHeader | CallerNumberCommand:
    """Who sent the command and its id: what its events carry."""
    return command.header if isinstance(command, registry.Unappliable) else command


def read_record(record: Any) -> Command:
    """The command in one ConsumerRecord; raises ValidationError if not even its id is
    readable. Every check of a single record belongs here."""
    return registry.read(record.value or b"", key=record.key)


async def apply_batch(
    pool: asyncpg.Pool, records: Sequence[Any], *, max_attempts: int
) -> BatchOutcome:
    """Applies `records` (ConsumerRecords of the commands topic, in fetch order) and says what
    to publish: the events of every answered command, then the dead letters."""
    outcome = BatchOutcome()
    by_tenant: dict[str, list[tuple[Any, Command]]] = {}
    for record in records:
        try:
            command = read_record(record)
        except ValidationError as error:
            outcome.letters.append(Letter(record, error, attempts=1))
            continue
        by_tenant.setdefault(command.tenant_id, []).append((record, command))
    for tenant_id, commands in by_tenant.items():
        await _apply_in_order(pool, tenant_id, commands, max_attempts, outcome)
    # Answered, and dead-lettered as well: the dead letter keeps the message.
    outcome.letters += (
        Letter(answered.record, answered.command.error, attempts=1)
        for answered in outcome.answered
        if isinstance(answered.command, registry.Unappliable)
    )
    return outcome


class _Failed(Exception):
    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index, self.error = index, error


async def _apply_in_order(
    pool: asyncpg.Pool,
    tenant_id: str,
    commands: list[tuple[Any, Command]],
    max_attempts: int,
    outcome: BatchOutcome,
) -> None:
    start, end = 0, len(commands)
    while start < len(commands):
        try:
            outcome.answered += await _apply_together(pool, tenant_id, commands[start:end])
        except _Failed as failed:
            if failed.index > 0:  # first the ones before it, then it alone
                end = start + failed.index
                continue
            record, command = commands[start]
            answered = await _retry_alone(pool, tenant_id, record, command, failed, max_attempts)
            if isinstance(answered, Letter):
                outcome.letters.append(answered)
            else:
                outcome.answered.append(answered)
            start += 1
        else:
            start = end
        end = len(commands)


async def _apply_together(
    pool: asyncpg.Pool, tenant_id: str, commands: Iterable[tuple[Any, Command]]
) -> list[Answered]:
    """In one transaction; raises _Failed(index) for the first command that fails."""
    answered = []
    async with tenant_transaction(pool, tenant_id) as conn:
        for index, (record, command) in enumerate(commands):
            try:
                fail_point("registry.command", str(header_of(command).message_id))
                applied = await registry.apply(conn, command)
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:
                raise _Failed(index, error) from error
            answered.append(Answered(record, command, applied))
            crash_point("registry.mid_batch")
    return answered


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
