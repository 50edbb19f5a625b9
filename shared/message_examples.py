"""One example of every bus message, for the AsyncAPI document (fixed ids and times)."""

from datetime import UTC, datetime
from uuid import UUID

from pydantic import BaseModel

from shared import contracts as c

AT = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
TENANT = "acme"
UPSTREAM = c.Principal(sub="crm", role=c.Role.SERVICE)
ADMIN = c.Principal(sub="alice", role=c.Role.TENANT_ADMIN)
COMMAND_ID = UUID("0f8e2f64-3f3a-4c47-9a51-6b1f2d8e9a01")
TASK_ID = UUID("5b7c1a9e-2d4f-4e8a-b3c6-9d0e1f2a3b4c")
NUMBER = c.CallerNumberView(
    id=UUID("8a1d4c2e-6f3b-4a5d-9e7c-1b2a3c4d5e6f"),
    number="02150001234",
    org_unit_id="sales",
    description="hotline",
)


def _id(n: int) -> UUID:
    return UUID(int=n)


_COMMON = {"tenant_id": TENANT, "occurred_at": AT}
_COUNTERS = c.ImportCounters(
    rows_total=100_000,
    rows_read=40_000,
    succeeded=39_000,
    failed=500,
    duplicates=200,
    not_processed=0,
)
_DONE = _COUNTERS.model_copy(update={"rows_read": 100_000, "succeeded": 99_000, "failed": 1000})
_TASK = {**_COMMON, "principal": ADMIN, "task_id": TASK_ID}
_ANSWER = {**_COMMON, "principal": UPSTREAM, "command_id": COMMAND_ID}

EXAMPLES: dict[type[BaseModel], BaseModel] = {
    c.CreateCallerNumbers: c.CreateCallerNumbers(
        **_COMMON,
        message_id=COMMAND_ID,
        principal=UPSTREAM,
        numbers=["02150001234", "4008123456"],
        org_unit_id="sales",
        description="hotline",
    ),
    c.UpdateCallerNumber: c.UpdateCallerNumber(
        **_COMMON,
        message_id=COMMAND_ID,
        principal=UPSTREAM,
        number="02150001234",
        org_unit_id=None,
        description="moved to Unorganized",
    ),
    c.DeleteCallerNumber: c.DeleteCallerNumber(
        **_COMMON, message_id=COMMAND_ID, principal=UPSTREAM, number="02150001234"
    ),
    c.DeleteCallerNumbers: c.DeleteCallerNumbers(
        **_COMMON,
        message_id=COMMAND_ID,
        principal=ADMIN,
        numbers=["02150001234", "4008123456"],
        bulk_operation_id=_id(14),
    ),
    c.MoveCallerNumbers: c.MoveCallerNumbers(
        **_COMMON,
        message_id=COMMAND_ID,
        principal=UPSTREAM,
        numbers=["02150001234", "4008123456"],
        org_unit_id="sales",
    ),
    c.CallerNumberCreated: c.CallerNumberCreated(
        **_ANSWER, message_id=_id(1), caller_number=NUMBER
    ),
    c.CallerNumberUpdated: c.CallerNumberUpdated(
        **_ANSWER, message_id=_id(2), caller_number=NUMBER
    ),
    c.CallerNumberDeleted: c.CallerNumberDeleted(
        **_ANSWER, message_id=_id(3), caller_number=NUMBER
    ),
    c.CallerNumberRejected: c.CallerNumberRejected(
        **_ANSWER,
        message_id=_id(4),
        number="4008123456",
        reason="duplicate",
        message="The number is already registered.",
    ),
    c.StartImport: c.StartImport(**_TASK, message_id=_id(5)),
    c.ImportRowsRead: c.ImportRowsRead(
        **_TASK,
        message_id=_id(6),
        org_unit_id=None,
        description="",
        rows=[
            c.ImportRowRead(row_number=2, number="02150001234", as_written=" 02150001234"),
            c.ImportRowRead(
                row_number=3,
                number="02150001235",
                as_written="02150001235",
                org_unit="Sales / North",
                description="spring campaign",
            ),
        ],
    ),
    c.ImportRowsApplied: c.ImportRowsApplied(**_TASK, message_id=_id(7)),  # results stored
    c.ImportStarted: c.ImportStarted(
        **_TASK,
        message_id=_id(8),
        status="running",
        counters=_COUNTERS.model_copy(
            update={"rows_read": 0, "succeeded": 0, "failed": 0, "duplicates": 0}
        ),
    ),
    c.ImportProgressed: c.ImportProgressed(
        **_TASK, message_id=_id(9), status="running", counters=_COUNTERS
    ),
    c.ImportCompleted: c.ImportCompleted(
        **_TASK, message_id=_id(10), status="completed", counters=_DONE
    ),
    c.ImportFailed: c.ImportFailed(
        **_TASK,
        message_id=_id(11),
        status="failed",
        counters=c.ImportCounters(
            rows_total=None, rows_read=0, succeeded=0, failed=0, duplicates=0, not_processed=0
        ),
        error_code="not_a_spreadsheet",
        error_message="The file is not an .xlsx or .csv file.",
    ),
    c.ImportCancelled: c.ImportCancelled(
        **_TASK,
        message_id=_id(12),
        status="cancelled",
        counters=_COUNTERS.model_copy(update={"not_processed": 60_000}),
    ),
    c.DeadLetter: c.DeadLetter(
        message_id=_id(13),
        source_topic="caller-numbers.commands.v1",
        source_partition=1,
        source_offset=4711,
        key=TENANT,
        payload='{"type": "create", "tenant_id": "acme"}',
        error="ValidationError: principal: Field required",
        attempts=1,
        dead_lettered_at=AT,
    ),
}
