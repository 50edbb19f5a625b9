from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.import_worker.runner import batches
from shared.contracts import (
    IMPORT_WORKER,
    CallerNumberView,
    ImportRowRead,
    ImportRowsRead,
    NumberOutcome,
    OutcomeStatus,
    RowRead,
    command_adapter,
    event_adapter,
    outcome_event,
)
from tests.factories import create_command

NOW = datetime.now(UTC)


class TestCommands:
    def test_a_command_survives_the_wire(self) -> None:
        command = create_command("t1", ["123"], org_unit_id="sales")
        assert command_adapter.validate_json(command.model_dump_json()) == command

    def test_a_command_without_its_principal_is_malformed(self) -> None:
        with pytest.raises(ValidationError):
            command_adapter.validate_python({"type": "create", "tenant_id": "t", "numbers": ["1"]})

    def test_more_than_100_numbers_is_malformed(self) -> None:
        with pytest.raises(ValidationError):
            create_command("t1", [str(n) for n in range(101)])


class TestOutcomeEvents:
    def test_a_republished_event_keeps_its_id(self) -> None:
        command = create_command("t1", ["123"])
        view = CallerNumberView(id=uuid4(), number="123", org_unit_id=None, description="")
        outcome = NumberOutcome(number="123", status=OutcomeStatus.CREATED, caller_number=view)
        first, again = (
            outcome_event(command, 0, outcome, NOW),
            outcome_event(command, 0, outcome, NOW),
        )
        assert first == again
        assert first.message_id != outcome_event(command, 1, outcome, NOW).message_id

    def test_a_rejection_names_its_command_and_reason(self) -> None:
        command = create_command("t1", ["12x"])
        outcome = NumberOutcome(
            number="12x", status=OutcomeStatus.REJECTED, reason="not_digits", message="digits"
        )
        event = event_adapter.validate_json(
            outcome_event(command, 0, outcome, NOW).model_dump_json()
        )
        assert event.type == "rejected" and event.command_id == command.message_id
        assert event.tenant_id == "t1" and event.principal == command.principal


# Any text a cell may hold once checked: quotes, backslashes, controls, other scripts, emoji.
_CELL_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_ROW_READ = st.builds(
    lambda n, number, written, ou, description: {
        "row_number": n,
        "number": number,
        "as_written": written,
        **({"org_unit": ou} if ou is not None else {}),
        **({"description": description} if description is not None else {}),
    },
    st.integers(2, 1_048_576),
    st.text("0123456789", min_size=1, max_size=24),
    _CELL_TEXT,
    st.none() | _CELL_TEXT,
    st.none() | _CELL_TEXT,
)


class TestRowBatchesTheWorkerWrites:
    @given(st.lists(_ROW_READ, min_size=1, max_size=40), st.integers(200, 4000), st.booleans())
    def test_they_read_back_through_the_contract_row_for_row_within_their_size(
        self, rows: list[RowRead], max_bytes: int, dry_run: bool
    ) -> None:
        """The kind: the worker writes ImportRowsRead by hand (orjson, a dict per row), beside
        pydantic: whatever the texts, each message is what the model reads, and the rows come
        back in order, each message within max_bytes unless it holds one row."""
        task_id = uuid4()
        envelope = {"tenant_id": "t", "task_id": task_id, "org_unit_id": "sales"}
        sent = list(batches(rows, max_bytes, **envelope, description="d", dry_run=dry_run))
        read = [ImportRowsRead.model_validate_json(data) for data in sent]
        assert [row for batch in read for row in batch.rows] == [ImportRowRead(**r) for r in rows]
        fits = zip(sent, read, strict=True)
        assert all(len(data) <= max_bytes or len(batch.rows) == 1 for data, batch in fits)
        assert {(b.task_id, b.org_unit_id, b.description, b.dry_run) for b in read} == {
            (task_id, "sales", "d", dry_run)
        }
        assert all(b.principal == IMPORT_WORKER for b in read)
        assert len({b.message_id for b in read}) == len(read)
