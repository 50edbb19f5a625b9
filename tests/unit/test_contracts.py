from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from shared.contracts import (
    CallerNumberView,
    NumberOutcome,
    OutcomeStatus,
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
