"""Every message on the bus: frozen pydantic models; commands are orders, events past tense."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal, NotRequired, TypedDict
from uuid import UUID, uuid4, uuid5

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from shared.rules import storable

# Tolerant readers: within a topic's major version a consumer ignores fields it does not know
# (an upstream may add one) and validates the fields it knows as strictly as ever. What we
# publish is built from these models, so it never carries a field they do not name.
TOLERANT = ConfigDict(frozen=True, extra="ignore")


def _storable_if_text(value: object) -> object:
    return storable(value) if isinstance(value, str) else value


# Text PostgreSQL and JSON can hold: no NUL, no lone UTF-16 surrogate. Checked before the
# length limits, which cannot read a lone surrogate and would give a vaguer error.
_STORABLE = BeforeValidator(_storable_if_text)
Text = Annotated[str, _STORABLE]


def _blank_is_unorganized(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# An OU id; null, omitted, "" and blanks all mean Unorganized, as in the manual.
OrgUnitId = Annotated[Text | None, BeforeValidator(_blank_is_unorganized)]
org_unit_adapter: TypeAdapter[str | None] = TypeAdapter(OrgUnitId)
TenantId = Annotated[str, Field(min_length=1, max_length=64), _STORABLE]


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    TENANT_ADMIN = "tenant_admin"
    AGENT = "agent"
    # An upstream system publishing straight onto Kafka.
    SERVICE = "service"


class Principal(BaseModel):
    """Who acts: the claims of a user's token, or an upstream system's identity."""

    model_config = TOLERANT
    sub: Text
    role: Role
    org_unit_id: Text | None = None
    accessible_org_unit_ids: tuple[Text, ...] = ()
    permissions: tuple[Text, ...] = ()


# Signs the answer to a command whose own principal cannot be read or proven, and the
# registry's messages on the internal topics.
REGISTRY = Principal(sub="number-registry", role=Role.SERVICE)
# The import worker's messages on the internal topics.
IMPORT_WORKER = Principal(sub="import-worker", role=Role.SERVICE)


def _now() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    model_config = TOLERANT
    message_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = 1
    tenant_id: TenantId
    principal: Principal
    occurred_at: datetime = Field(default_factory=_now)


# ---- commands: caller-numbers.commands.v1 ----

# A number as sent, checked one by one by the rules later (empty, not digits, too long...).
# Text PostgreSQL could not store, or over 64 characters (no number a person types), makes
# the whole command malformed.
NumberText = Annotated[str, Field(max_length=64), _STORABLE]


class CreateCallerNumbers(Message):
    """Add numbers to the tenant; each one succeeds or fails on its own."""

    type: Literal["create"] = "create"
    numbers: list[NumberText] = Field(min_length=1, max_length=100)
    org_unit_id: OrgUnitId = None
    # Checked by the rules (description_too_long, description_invalid), not refused as malformed.
    description: str = ""


class UpdateCallerNumber(Message):
    """Set the OU (None: Unorganized) and the description of one number; both, always."""

    type: Literal["update"] = "update"
    number: NumberText
    org_unit_id: OrgUnitId = None
    # Checked by the rules (description_too_long, description_invalid), not refused as malformed.
    description: str = ""


class DeleteCallerNumber(Message):
    type: Literal["delete"] = "delete"
    number: NumberText


# A chunk of a bulk operation: at most this many numbers per command, each with its outcome.
BULK_CHUNK = 1000


class DeleteCallerNumbers(Message):
    """Delete several numbers; each one succeeds or fails on its own (`not_found` if it is not
    there or outside the principal's OUs). `bulk_operation_id` names the gateway's bulk
    operation this command is a chunk of (None when an upstream system sends it alone)."""

    type: Literal["delete_many"] = "delete_many"
    numbers: list[NumberText] = Field(min_length=1, max_length=BULK_CHUNK)
    bulk_operation_id: UUID | None = None


class MoveCallerNumbers(Message):
    """Move several numbers to one OU (None: Unorganized), keeping their descriptions; each
    one succeeds or fails on its own, as in DeleteCallerNumbers."""

    type: Literal["move"] = "move"
    numbers: list[NumberText] = Field(min_length=1, max_length=BULK_CHUNK)
    org_unit_id: str | None = None
    bulk_operation_id: UUID | None = None


class CommandSignature(BaseModel):
    """The Kafka headers every command carries: who signed it and when (shared/signing). The
    signature covers the record's value byte for byte, so its message_id, tenant_id, principal
    and every other field; the registry answers a command without a valid one `rejected`,
    reason `unauthenticated`, and takes the principal from the key, not from the command."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)
    kid: str = Field(
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="The signing key's id, as the registry's trusted keys name it.",
    )
    signed_at: str = Field(
        alias="signed-at",
        pattern=r"^[1-9][0-9]{0,14}$",
        description="When it was signed: milliseconds since the Unix epoch. It must lie within "
        "COMMAND_SIGNATURE_WINDOW_SECONDS (300 s) of the broker's append time of the record.",
    )
    signature: str = Field(
        pattern=r"^[A-Za-z0-9_-]{86}$",
        description="Ed25519 over 'cnr-command-signature-v1\\ncaller-numbers.commands.v1\\n' "
        "+ kid + '\\n' + signed-at + '\\n' + the record's value, in unpadded base64url.",
    )


CallerNumberCommand = Annotated[
    CreateCallerNumbers
    | UpdateCallerNumber
    | DeleteCallerNumber
    | DeleteCallerNumbers
    | MoveCallerNumbers,
    Field(discriminator="type"),
]
command_adapter: TypeAdapter[CallerNumberCommand] = TypeAdapter(CallerNumberCommand)


def _none_if_invalid(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    try:
        return handler(value)
    except ValidationError:
        return None


class CommandHeader(BaseModel):
    """The least a command needs to be answered, read when the rest of it is malformed."""

    model_config = TOLERANT
    message_id: UUID
    tenant_id: TenantId
    # None when missing or malformed: the answer is then signed by the registry itself.
    principal: Annotated[Principal | None, WrapValidator(_none_if_invalid)] = None


# ---- outcomes, as stored per command and answered over HTTP ----


class OutcomeStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    REJECTED = "rejected"


class CallerNumberView(BaseModel):
    model_config = TOLERANT
    id: UUID
    number: str
    org_unit_id: str | None
    description: str


class FieldError(BaseModel):
    """One reason a command is malformed: where in it (`loc`) and what is wrong."""

    model_config = TOLERANT
    loc: list[str | int]
    message: str
    type: str


class NumberOutcome(BaseModel):
    """What one command did to one number; a malformed command has one outcome, number ""."""

    model_config = TOLERANT
    number: str
    status: OutcomeStatus
    caller_number: CallerNumberView | None = None
    reason: str | None = None
    message: str | None = None
    errors: list[FieldError] = []


# ---- events: caller-numbers.events.v1 ----


class CallerNumberEvent(Message):
    command_id: UUID


class CallerNumberCreated(CallerNumberEvent):
    type: Literal["created"] = "created"
    caller_number: CallerNumberView


class CallerNumberUpdated(CallerNumberEvent):
    type: Literal["updated"] = "updated"
    caller_number: CallerNumberView


class CallerNumberDeleted(CallerNumberEvent):
    type: Literal["deleted"] = "deleted"
    caller_number: CallerNumberView


class CallerNumberRejected(CallerNumberEvent):
    type: Literal["rejected"] = "rejected"
    # "" when the whole command is refused as malformed_command or key_mismatch.
    number: str
    reason: str
    message: str
    # What is wrong with a malformed command (reason malformed_command); else empty.
    errors: list[FieldError] = []


CallerNumberEventUnion = Annotated[
    CallerNumberCreated | CallerNumberUpdated | CallerNumberDeleted | CallerNumberRejected,
    Field(discriminator="type"),
]
event_adapter: TypeAdapter[CallerNumberEventUnion] = TypeAdapter(CallerNumberEventUnion)


def outcome_event(
    command: Message | CommandHeader, index: int, outcome: NumberOutcome, processed_at: datetime
) -> CallerNumberEventUnion:
    """The event for one outcome; derived from stored facts, so a re-published event is the same."""
    common = {
        "message_id": uuid5(command.message_id, str(index)),
        "occurred_at": processed_at,
        "tenant_id": command.tenant_id,
        "principal": command.principal or REGISTRY,
        "command_id": command.message_id,
    }
    if outcome.status is OutcomeStatus.REJECTED:
        return CallerNumberRejected(
            **common,
            number=outcome.number,
            reason=outcome.reason or "rejected",
            message=outcome.message or "",
            errors=outcome.errors,
        )
    assert outcome.caller_number is not None
    if outcome.status is OutcomeStatus.CREATED:
        return CallerNumberCreated(**common, caller_number=outcome.caller_number)
    if outcome.status is OutcomeStatus.UPDATED:
        return CallerNumberUpdated(**common, caller_number=outcome.caller_number)
    return CallerNumberDeleted(**common, caller_number=outcome.caller_number)


# ---- imports: caller-number-imports.commands.v1 and the internal row topics ----


class StartImport(Message):
    """Read the uploaded file of an import task (its file and settings are in PostgreSQL)."""

    type: Literal["start_import"] = "start_import"
    task_id: UUID


class ImportRowRead(BaseModel):
    """One data row of an import file whose number has the right format (the per-row event)."""

    model_config = TOLERANT
    row_number: int
    number: str
    as_written: str
    # The row's own Organization Unit cell (an OU id or a path of names, as written) and
    # Description cell; None when the file has no such column or the cell is empty: the
    # batch's org_unit_id and description apply.
    org_unit: str | None = None
    description: str | None = None


class RowRead(TypedDict):
    """An ImportRowRead as the worker builds it: a dict, dumped by orjson into the batch (a
    model per row cost 1.7 µs to build); the registry validates the batch as ImportRowsRead."""

    row_number: int
    number: str
    as_written: str
    org_unit: NotRequired[str]  # left out when None
    description: NotRequired[str]


class ImportRowsRead(Message):
    """Row events on the wire, batched: the rows of one task in file order."""

    type: Literal["import_rows_read"] = "import_rows_read"
    task_id: UUID
    org_unit_id: OrgUnitId
    description: Text
    rows: list[ImportRowRead]
    # A dry run ("Check file"): every rule is checked and the results are recorded as for an
    # import, but no number is written.
    dry_run: bool = False


class ImportRowResult(BaseModel):
    """What became of one data row, as a registry before the results were stored with the rows
    sent it (see ImportRowsApplied)."""

    model_config = TOLERANT
    row_number: int
    as_written: str
    succeeded: bool
    reason_code: str | None = None
    reason: str = ""
    org_unit: str | None = None  # as shared.db.imports.RowResult, which the worker records
    description: str | None = None


class ImportRowsApplied(Message):
    """A batch's rows are answered. The registry stores their results and counters in the
    transaction that wrote the rows (shared.db.imports.store_results) and sends `results`
    empty; the worker then finishes the task if that was its last batch. Results an older
    registry still lists are recorded by the worker as before (a compatible change of v1)."""

    type: Literal["import_rows_applied"] = "import_rows_applied"
    task_id: UUID
    results: list[ImportRowResult] = []


# ---- import task lifecycle and progress: caller-number-imports.events.v1 ----


class ImportCounters(BaseModel):
    model_config = TOLERANT
    rows_total: int | None
    rows_read: int
    succeeded: int
    failed: int
    duplicates: int
    not_processed: int


class ImportTaskEvent(Message):
    task_id: UUID
    status: Literal["pending", "running", "completed", "failed", "cancelling", "cancelled"]
    counters: ImportCounters
    # A dry run ("Check file"): the counters are what an import would reach; nothing written.
    dry_run: bool = False


class ImportStarted(ImportTaskEvent):
    type: Literal["import_started"] = "import_started"


class ImportProgressed(ImportTaskEvent):
    type: Literal["import_progressed"] = "import_progressed"


class ImportCompleted(ImportTaskEvent):
    type: Literal["import_completed"] = "import_completed"


class ImportFailed(ImportTaskEvent):
    type: Literal["import_failed"] = "import_failed"
    error_code: str
    error_message: str


class ImportCancelled(ImportTaskEvent):
    type: Literal["import_cancelled"] = "import_cancelled"


ImportEventUnion = Annotated[
    ImportStarted | ImportProgressed | ImportCompleted | ImportFailed | ImportCancelled,
    Field(discriminator="type"),
]
import_event_adapter: TypeAdapter[ImportEventUnion] = TypeAdapter(ImportEventUnion)


# ---- dead letters: <topic>.dlq ----


class DeadLetter(BaseModel):
    """A message that could not be processed, kept with its error and where it came from."""

    model_config = TOLERANT
    message_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = 1
    source_topic: str
    source_partition: int
    source_offset: int
    key: str | None
    payload: str
    error: str
    attempts: int
    dead_lettered_at: datetime = Field(default_factory=_now)
