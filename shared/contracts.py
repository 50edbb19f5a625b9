"""Every message on the bus: frozen pydantic models; commands are orders, events past tense."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID, uuid4, uuid5

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    TENANT_ADMIN = "tenant_admin"
    AGENT = "agent"
    # An upstream system publishing straight onto Kafka.
    SERVICE = "service"


class Principal(BaseModel):
    """Who acts: the claims of a user's token, or an upstream system's identity."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    sub: str
    role: Role
    org_unit_id: str | None = None
    accessible_org_unit_ids: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()


def _now() -> datetime:
    return datetime.now(UTC)


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    message_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = 1
    tenant_id: str = Field(min_length=1, max_length=64)
    principal: Principal
    occurred_at: datetime = Field(default_factory=_now)


# ---- commands: caller-numbers.commands.v1 ----

# A number as sent, checked by the rules later; text PostgreSQL could not store is malformed.
NumberText = Annotated[str, Field(max_length=64, pattern=r"^[^\x00]*$")]


class CreateCallerNumbers(Message):
    """Add numbers to the tenant; each one succeeds or fails on its own."""

    type: Literal["create"] = "create"
    numbers: list[NumberText] = Field(min_length=1, max_length=100)
    org_unit_id: str | None = None
    description: str = ""


class UpdateCallerNumber(Message):
    """Set the OU (None: Unorganized) and the description of one number; both, always."""

    type: Literal["update"] = "update"
    number: NumberText
    org_unit_id: str | None = None
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


CallerNumberCommand = Annotated[
    CreateCallerNumbers
    | UpdateCallerNumber
    | DeleteCallerNumber
    | DeleteCallerNumbers
    | MoveCallerNumbers,
    Field(discriminator="type"),
]
command_adapter: TypeAdapter[CallerNumberCommand] = TypeAdapter(CallerNumberCommand)


# ---- outcomes, as stored per command and answered over HTTP ----


class OutcomeStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    REJECTED = "rejected"


class CallerNumberView(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: UUID
    number: str
    org_unit_id: str | None
    description: str


class NumberOutcome(BaseModel):
    """What one command did to one number."""

    model_config = ConfigDict(frozen=True)
    number: str
    status: OutcomeStatus
    caller_number: CallerNumberView | None = None
    reason: str | None = None
    message: str | None = None


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
    number: str
    reason: str
    message: str


CallerNumberEventUnion = Annotated[
    CallerNumberCreated | CallerNumberUpdated | CallerNumberDeleted | CallerNumberRejected,
    Field(discriminator="type"),
]
event_adapter: TypeAdapter[CallerNumberEventUnion] = TypeAdapter(CallerNumberEventUnion)


def outcome_event(
    command: Message, index: int, outcome: NumberOutcome, processed_at: datetime
) -> CallerNumberEventUnion:
    """The event for one outcome; derived from stored facts, so a re-published event is the same."""
    common = {
        "message_id": uuid5(command.message_id, str(index)),
        "occurred_at": processed_at,
        "tenant_id": command.tenant_id,
        "principal": command.principal,
        "command_id": command.message_id,
    }
    if outcome.status is OutcomeStatus.REJECTED:
        return CallerNumberRejected(
            **common,
            number=outcome.number,
            reason=outcome.reason or "rejected",
            message=outcome.message or "",
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

    model_config = ConfigDict(frozen=True, extra="forbid")
    row_number: int
    number: str
    as_written: str


class ImportRowsRead(Message):
    """Row events on the wire, batched: the rows of one task in file order."""

    type: Literal["import_rows_read"] = "import_rows_read"
    task_id: UUID
    org_unit_id: str | None
    description: str
    rows: list[ImportRowRead]


class ImportRowResult(BaseModel):
    """What became of one data row (the per-row result event)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    row_number: int
    as_written: str
    succeeded: bool
    reason_code: str | None = None
    reason: str = ""


class ImportRowsApplied(Message):
    type: Literal["import_rows_applied"] = "import_rows_applied"
    task_id: UUID
    results: list[ImportRowResult]


# ---- import task lifecycle and progress: caller-number-imports.events.v1 ----


class ImportCounters(BaseModel):
    model_config = ConfigDict(frozen=True)
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

    model_config = ConfigDict(frozen=True, extra="forbid")
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
