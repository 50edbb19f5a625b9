"""Request and response bodies of the HTTP API."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts import (
    BULK_CHUNK,
    ImportCounters,
    NumberOutcome,
    NumberText,
    OrgUnitId,
    Text,
)
from shared.rules import MAX_NUMBERS_PER_REQUEST


class _Body(BaseModel):
    """A request body: strict on its fields; strings are `Text` (no NUL, no lone surrogate)."""

    model_config = ConfigDict(extra="forbid")


class TenantIn(_Body):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: Text = Field(min_length=1, max_length=200)
    calling_number_anonymization: bool = False
    data_isolation_enforced: bool = False
    # The tenant's quota of caller numbers; null: unlimited.
    max_caller_numbers: int | None = Field(default=None, ge=0, le=2_000_000_000)


class TenantPatch(_Body):
    """Fields left out keep their value; `max_caller_numbers: null` makes the tenant unlimited."""

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    calling_number_anonymization: bool | None = None
    data_isolation_enforced: bool | None = None
    max_caller_numbers: int | None = Field(default=None, ge=0, le=2_000_000_000)


class TenantOut(BaseModel):
    id: str
    name: str
    calling_number_anonymization: bool
    data_isolation_enforced: bool
    max_caller_numbers: int | None  # GET /me says how many are used
    created_at: datetime
    updated_at: datetime


class SystemParameterIn(_Body):
    value: bool


class SystemParameterOut(BaseModel):
    name: str
    value: bool
    updated_at: datetime


class OrgUnitIn(_Body):
    id: Text = Field(min_length=1, max_length=64)
    name: Text = Field(min_length=1, max_length=200)
    parent_id: OrgUnitId = None


class OrgUnitOut(BaseModel):
    id: str
    name: str
    parent_id: str | None


class ChoosableOrgUnits(BaseModel):
    """The OUs the caller may choose; `unorganized` says whether "no OU" is among them."""

    unorganized: bool
    org_units: list[OrgUnitOut]


class AddCallerNumbersIn(_Body):
    """Each number is checked on its own (its outcome says why it was refused); a string of
    over 64 characters, a NUL or a lone surrogate is no number anyone typed: 422 for all."""

    numbers: list[NumberText] = Field(min_length=1, max_length=MAX_NUMBERS_PER_REQUEST)
    org_unit_id: OrgUnitId = None  # null, omitted or "": Unorganized
    description: str = ""  # its rules (shared.rules.check_description) give the error codes


class CallerNumberPatch(_Body):
    """Fields left out keep their value; `org_unit_id` null or "" moves it to Unorganized."""

    org_unit_id: OrgUnitId = None
    description: str | None = None


class CallerNumberOut(BaseModel):
    id: UUID
    number: str
    org_unit_id: str | None
    description: str
    created_at: datetime
    updated_at: datetime


class CallerNumberPage(BaseModel):
    items: list[CallerNumberOut]
    total: int
    limit: int
    offset: int


class CommandStatus(BaseModel):
    command_id: UUID
    status: Literal["pending", "completed"]
    results: list[NumberOutcome] = []


class ImportTaskOut(BaseModel):
    id: UUID
    status: Literal["pending", "running", "completed", "failed", "cancelling", "cancelled"]
    file_name: str
    file_size: int
    org_unit_id: str | None
    description: str
    counters: ImportCounters
    error_code: str | None
    error_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # Set once retention has deleted the per-row report (IMPORT_RETENTION_DAYS after the end).
    results_deleted_at: datetime | None
    # The report is stored and may be downloaded (a finished task's report is written first).
    report_ready: bool
    # A dry run ("Check file"): nothing written; its counters are what an import would reach.
    dry_run: bool
    # The dry run this import was started from ("Import for real"), and on a dry run, the
    # import started from it.
    preview_of: UUID | None
    imported_as: UUID | None


class ImportTaskPage(BaseModel):
    items: list[ImportTaskOut]
    total: int
    limit: int
    offset: int


_DIGITS = r"^[0-9]{0,24}$"


class BulkFilterIn(_Body):
    """All matching: the list's filters (GET /caller-numbers), applied when the bulk starts."""

    org_unit_id: str | None = None
    include_sub_units: bool = False
    unorganized: bool = False
    prefix: str = Field(default="", pattern=_DIGITS)
    contains: str = Field(default="", pattern=_DIGITS)


class BulkOperationIn(_Body):
    """Delete or move (to `org_unit_id`, null: Unorganized) either the `numbers` listed or every
    number that `filter` matches now; exactly one of the two."""

    action: Literal["delete", "move"]
    org_unit_id: str | None = None
    numbers: list[NumberText] | None = Field(default=None, min_length=1, max_length=BULK_CHUNK)
    filter: BulkFilterIn | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> "BulkOperationIn":
        if (self.numbers is None) == (self.filter is None):
            raise ValueError("give either numbers or filter")
        if self.action == "delete" and self.org_unit_id is not None:
            raise ValueError("org_unit_id is the target of a move; a delete has none")
        return self


class BulkOperationOut(BaseModel):
    """`commands_done` of `commands` processed; `counts`: outcomes so far by status."""

    id: UUID
    action: Literal["delete", "move"]
    org_unit_id: str | None
    total: int
    commands: int
    commands_done: int
    status: Literal["running", "completed"]
    counts: dict[str, int]
    created_at: datetime


class BulkOutcomePage(BaseModel):
    items: list[NumberOutcome]
    total: int
    limit: int
    offset: int


class AuditState(BaseModel):
    """A caller number's OU (null: Unorganized) and description at one moment."""

    org_unit_id: str | None
    description: str


class AuditRecordOut(BaseModel):
    """One change of one number: who (`principal_sub`, `principal_role`), when (`changed_at`),
    what (`before` for updated and deleted, `after` for created and updated), and by what:
    `command_id` (an add, edit or delete; with `bulk_operation_id` for a bulk one), or
    `import_task_id` and `import_row` (the spreadsheet row). A change made in the database by
    hand has none of these and names the database role, `principal_role` `database`."""

    id: int
    caller_number_id: UUID
    number: str
    action: Literal["created", "updated", "deleted"]
    changed_at: datetime
    principal_sub: str
    principal_role: str
    before: AuditState | None
    after: AuditState | None
    command_id: UUID | None
    bulk_operation_id: UUID | None
    import_task_id: UUID | None
    import_row: int | None


class AuditPage(BaseModel):
    """Newest first; `next_cursor` (null on the last page) asks for the next, older, page."""

    items: list[AuditRecordOut]
    next_cursor: str | None
