"""Applies one caller-number command inside the caller's transaction, exactly once."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import asyncpg
from pydantic import ValidationError

from shared.access import Operation, TenantPolicy, write_refusal
from shared.contracts import (
    CallerNumberCommand,
    CallerNumberView,
    CommandHeader,
    CreateCallerNumbers,
    DeleteCallerNumber,
    DeleteCallerNumbers,
    FieldError,
    MoveCallerNumbers,
    NumberOutcome,
    OutcomeStatus,
    Principal,
    UpdateCallerNumber,
    command_adapter,
)
from shared.db import Connection, audit, caller_numbers, commands, quotas, tenants
from shared.rules import ADD_MAX_DIGITS, Reason, Rejection, check_description, check_numbers
from shared.signing import CommandRecord, Unauthenticated, Verifier


class Applied(NamedTuple):
    outcomes: list[NumberOutcome]
    processed_at: datetime


class MalformedCommand(ValueError):
    """A command that cannot be applied; it is answered, then dead-lettered with this error."""


@dataclass(frozen=True)
class Unappliable:
    """A command read far enough to answer (its id and tenant), but not to apply."""

    header: CommandHeader
    outcome: NumberOutcome
    error: Exception  # what the dead letter says

    @property
    def tenant_id(self) -> str:
        return self.header.tenant_id


def read(record: CommandRecord, verifier: Verifier) -> CallerNumberCommand | Unappliable:
    """The command in a Kafka record; raises ValidationError if not even its id is readable.

    Its sender must be proven by its signature (shared/signing), which also gives its principal:
    the one it claims is never taken as written. The key must be the tenant id: it is what
    keeps one tenant's commands in order."""
    body = record.value or b""
    try:
        command = command_adapter.validate_json(body)
    except ValidationError as error:
        try:  # the lenient standard reader: it keeps a lone surrogate that pydantic refuses
            header = CommandHeader.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            raise error from None
        return _malformed(record, verifier, header, error)
    try:
        principal = verifier.principal(
            record, tenant_id=command.tenant_id, claimed=command.principal
        )
    except Unauthenticated as refusal:
        return _unauthenticated(command, refusal)
    if record.key != command.tenant_id.encode():
        message = (
            f"The message key must be the tenant id {command.tenant_id!r}, which keeps a "
            "tenant's commands in order; send it again with that key and a new message_id."
        )
        header = _header(command, principal)
        return Unappliable(header, _rejected("", KEY_MISMATCH, message), MalformedCommand(message))
    return command.model_copy(update={"principal": principal})


def _malformed(
    record: CommandRecord, verifier: Verifier, header: CommandHeader, error: ValidationError
) -> Unappliable:
    """Answered `malformed_command` in its proven sender's name, or `unauthenticated`."""
    try:
        principal = verifier.principal(record, tenant_id=header.tenant_id, claimed=header.principal)
    except Unauthenticated as refusal:
        return _unauthenticated(header, refusal)
    errors = [
        FieldError(loc=list(e["loc"]), message=_storable(e["msg"]), type=e["type"])
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]
    message = f"The command cannot be applied: {len(errors)} field(s) are not valid."
    return Unappliable(_header(header, principal), _rejected("", MALFORMED, message, errors), error)


def _unauthenticated(
    command: CallerNumberCommand | CommandHeader, refusal: Unauthenticated
) -> Unappliable:
    # Answered in the registry's name: an unproven principal is not repeated in events.
    header = _header(command, None)
    return Unappliable(header, _rejected("", UNAUTHENTICATED, str(refusal)), refusal)


def _header(
    command: CallerNumberCommand | CommandHeader, principal: Principal | None
) -> CommandHeader:
    return CommandHeader(
        message_id=command.message_id, tenant_id=command.tenant_id, principal=principal
    )


def _storable(message: str) -> str:
    # An error message may quote a value sent (an unknown `type`); PostgreSQL holds no NUL.
    return message.replace("\x00", "\\u0000")


async def apply(conn: Connection, command: CallerNumberCommand | Unappliable) -> Applied:
    """The command's outcome; a command seen before answers with its stored outcome, unchanged.

    command_batches applies many in one transaction with the same steps: claim, `decide`,
    save the outcome (a step added here belongs there too)."""
    header = header_of(command)
    processed_at = await commands.claim(
        conn,
        tenant_id=header.tenant_id,
        command_id=header.message_id,
        command_type=command_type(command),
        principal_sub=header.principal.sub if header.principal else "",
    )
    if processed_at is None:
        stored = await commands.get_outcome(
            conn, tenant_id=header.tenant_id, command_id=header.message_id
        )
        assert stored is not None  # claimed before, so stored
        return answered_before(stored)
    policy = None
    if not isinstance(command, Unappliable):
        policy = await tenants.load_policy(conn, tenant_id=command.tenant_id)
    outcomes = await decide(conn, command, policy)
    await commands.save_outcome(
        conn,
        tenant_id=header.tenant_id,
        command_id=header.message_id,
        outcome=[outcome.model_dump(mode="json") for outcome in outcomes],
    )
    return Applied(outcomes, processed_at)


def header_of(command: CallerNumberCommand | Unappliable) -> CommandHeader | CallerNumberCommand:
    """Who sent the command and its id: what its stored outcome and its events carry."""
    return command.header if isinstance(command, Unappliable) else command


def command_type(command: CallerNumberCommand | Unappliable) -> str:
    return "unappliable" if isinstance(command, Unappliable) else command.type


def answered_before(stored: commands.StoredOutcome) -> Applied:
    """A command processed before answers with its stored outcome."""
    return Applied([NumberOutcome.model_validate(o) for o in stored.results], stored.processed_at)


async def decide(
    conn: Connection, command: CallerNumberCommand | Unappliable, policy: TenantPolicy | None
) -> list[NumberOutcome]:
    """The outcomes of a command claimed just now: its rules decided under the tenant's
    `policy` (None: no such tenant) and its writes made."""
    if isinstance(command, Unappliable):
        return [command.outcome]
    await audit.set_actor(  # who the audit history names for this command's changes
        conn,
        principal=command.principal,
        command_id=command.message_id,
        bulk_operation_id=getattr(command, "bulk_operation_id", None),
    )
    return await _decide_and_write(conn, command, policy)


async def _decide_and_write(
    conn: Connection, command: CallerNumberCommand, policy: TenantPolicy | None
) -> list[NumberOutcome]:
    match command:
        case CreateCallerNumbers():
            [outcomes] = await create_many(conn, [command], policy)
            return outcomes
        case UpdateCallerNumber():
            refusal = write_refusal(
                command.principal, Operation.EDIT, policy, target_org_units=(command.org_unit_id,)
            ) or check_description(command.description)
            return [await _update(conn, command, policy, refusal)]
        case DeleteCallerNumber():
            refusal = write_refusal(command.principal, Operation.DELETE, policy)
            return [await _delete(conn, command, policy, refusal)]
        case DeleteCallerNumbers():
            refusal = write_refusal(command.principal, Operation.DELETE, policy)
            return await _bulk(conn, command, policy, refusal)
        case MoveCallerNumbers():
            refusal = write_refusal(
                command.principal, Operation.EDIT, policy, target_org_units=(command.org_unit_id,)
            )
            return await _bulk(conn, command, policy, refusal)


async def create_many(
    conn: Connection, commands: list[CreateCallerNumbers], policy: TenantPolicy | None
) -> list[list[NumberOutcome]]:
    """Each command's outcomes, as if applied one after another: a number in two of them is
    created by the first and a duplicate for the later. The commands are one tenant's (a
    batch applies each tenant in its own transaction)."""
    checked: list[Rejection | list[tuple[str, Rejection | None]]] = []
    for command in commands:
        refusal = write_refusal(
            command.principal, Operation.ADD, policy, target_org_units=(command.org_unit_id,)
        ) or check_description(command.description)
        if refusal:
            checked.append(refusal)
            continue
        numbers = check_numbers(command.numbers, max_digits=ADD_MAX_DIGITS)
        checked.append(numbers)
    # The new numbers of all commands in one admission and one INSERT, in command order: the
    # first command to give a number takes it (a later one's is a duplicate), and the places
    # the tenant's quota has left go to the first new numbers, as if applied one by one.
    # Each audit record still names its own command and principal (set_actors_by_number).
    wanted: dict[str, int] = {}  # number -> index of the first command giving it
    for index, numbers_or_refusal in enumerate(checked):
        if not isinstance(numbers_or_refusal, Rejection):
            for number, rejection in numbers_or_refusal:
                if rejection is None:
                    wanted.setdefault(number, index)
    rows: list[asyncpg.Record] = []
    admission = quotas.UNLIMITED
    if wanted:
        [tenant_id] = {command.tenant_id for command in commands}
        admission = await quotas.admit(conn, tenant_id=tenant_id, numbers=list(wanted))
        given = {n: i for n, i in wanted.items() if n not in admission.over_quota}
        if given:
            await audit.set_actors_by_number(
                conn,
                {n: (commands[i].principal, commands[i].message_id) for n, i in given.items()},
            )
            to_insert = [
                caller_numbers.NewNumber(n, commands[i].org_unit_id, commands[i].description)
                for n, i in given.items()
            ]
            rows = await caller_numbers.insert_numbers(conn, tenant_id=tenant_id, numbers=to_insert)
    inserted = {row["number"]: row for row in rows}
    outcomes = []
    for command, numbers_or_refusal in zip(commands, checked, strict=True):
        if isinstance(numbers_or_refusal, Rejection):
            outcomes.append([_refused(n.strip(), numbers_or_refusal) for n in command.numbers])
            continue
        mine = []
        for number, rejection in numbers_or_refusal:
            if rejection is not None:
                mine.append(_refused(number, rejection))
            elif number in admission.over_quota:
                mine.append(_refused(number, admission.rejection()))
            elif (row := inserted.pop(number, None)) is not None:  # the first to give it
                mine.append(_done(OutcomeStatus.CREATED, row))
            else:
                mine.append(_refused(number, DUPLICATE))
        outcomes.append(mine)
    return outcomes


async def _update(
    conn: Connection,
    command: UpdateCallerNumber,
    policy: TenantPolicy | None,
    refusal: Rejection | None,
) -> NumberOutcome:
    if refusal is not None:
        return _refused(command.number, refusal)
    row = await _find_in_scope(conn, command, policy)
    if row is None:
        return _refused(command.number, NOT_FOUND)
    updated = await caller_numbers.update_number(
        conn,
        caller_number_id=row["id"],
        org_unit_id=command.org_unit_id,
        description=command.description,
    )
    return _done(OutcomeStatus.UPDATED, updated)


async def _delete(
    conn: Connection,
    command: DeleteCallerNumber,
    policy: TenantPolicy | None,
    refusal: Rejection | None,
) -> NumberOutcome:
    if refusal is not None:
        return _refused(command.number, refusal)
    row = await _find_in_scope(conn, command, policy)
    if row is None:
        return _refused(command.number, NOT_FOUND)
    await caller_numbers.delete_number(conn, caller_number_id=row["id"])
    return _done(OutcomeStatus.DELETED, row)


async def _bulk(
    conn: Connection,
    command: DeleteCallerNumbers | MoveCallerNumbers,
    policy: TenantPolicy | None,
    refusal: Rejection | None,
) -> list[NumberOutcome]:
    """One statement for the whole chunk; each number then gets its own outcome."""
    if refusal is not None or policy is None:
        return [_refused(n, refusal or NOT_FOUND) for n in command.numbers]
    checked = check_numbers(command.numbers, max_digits=ADD_MAX_DIGITS)
    valid = [number for number, rejection in checked if rejection is None]
    scope = policy.scope_of(command.principal)
    if isinstance(command, DeleteCallerNumbers):
        status = OutcomeStatus.DELETED
        rows = await caller_numbers.delete_in_scope(
            conn, tenant_id=command.tenant_id, scope=scope, numbers=valid
        )
    else:
        status = OutcomeStatus.UPDATED
        rows = await caller_numbers.move_in_scope(
            conn,
            tenant_id=command.tenant_id,
            scope=scope,
            numbers=valid,
            org_unit_id=command.org_unit_id,
        )
    done = {row["number"]: row for row in rows}
    return [
        _refused(number, rejection)
        if rejection is not None
        else _done(status, done[number])
        if number in done
        else _refused(number, NOT_FOUND)
        for number, rejection in checked
    ]


async def _find_in_scope(
    conn: Connection,
    command: UpdateCallerNumber | DeleteCallerNumber,
    policy: TenantPolicy | None,
) -> asyncpg.Record | None:
    """The number, locked; a number outside the principal's OU scope is as if absent."""
    if policy is None:
        return None
    row = await caller_numbers.lock_by_number(
        conn, tenant_id=command.tenant_id, number=command.number.strip()
    )
    if row is None or not policy.scope_of(command.principal).allows(row["org_unit_id"]):
        return None
    return row


DUPLICATE = Rejection(Reason.DUPLICATE, "The number is already registered for this tenant.")
NOT_FOUND = Rejection(Reason.NOT_FOUND, "No such caller number.")


MALFORMED, KEY_MISMATCH = Reason.MALFORMED_COMMAND, Reason.KEY_MISMATCH
UNAUTHENTICATED = Reason.UNAUTHENTICATED


def _refused(number: str, rejection: Rejection) -> NumberOutcome:
    return _rejected(number, rejection.reason, rejection.message)


def _rejected(
    number: str, reason: Reason, message: str, errors: list[FieldError] | None = None
) -> NumberOutcome:
    return NumberOutcome(
        number=number,
        status=OutcomeStatus.REJECTED,
        reason=reason,
        message=message,
        errors=errors or [],
    )


def _done(status: OutcomeStatus, row: asyncpg.Record) -> NumberOutcome:
    view = CallerNumberView(
        id=row["id"],
        number=row["number"],
        org_unit_id=row["org_unit_id"],
        description=row["description"],
    )
    return NumberOutcome(number=row["number"], status=status, caller_number=view)
