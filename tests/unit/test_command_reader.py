"""The registry's reading of a Kafka command: apply it, answer it as unappliable, or neither."""

import orjson
import pytest
from hypothesis import given
from pydantic import ValidationError

from services.number_registry import registry
from services.number_registry.registry import Unappliable
from shared.contracts import (
    REGISTRY,
    CallerNumberCommand,
    CreateCallerNumbers,
    Principal,
    Role,
    outcome_event,
)
from shared.signing import Signer
from tests import signing
from tests.factories import create_command
from tests.generated import wrong_fields

COMMAND = create_command("acme", ["0215"])
KEY = b"acme"
CRM = Principal(sub="crm", role=Role.SERVICE)  # the upstream system of the tests' key


def read(
    body: bytes, *, key: bytes | None, signer: Signer | None = None
) -> CallerNumberCommand | Unappliable:
    return registry.read(signing.record(body, key=key, signer=signer), signing.verifier())


def _sent(**changes: object) -> bytes:
    return orjson.dumps({**COMMAND.model_dump(mode="json"), **changes})


@given(wrong=wrong_fields)
def test_generated_wrong_fields_are_answered_as_malformed_with_their_errors(
    wrong: dict[str, object],
) -> None:
    command = read(_sent(**wrong), key=KEY)
    assert isinstance(command, Unappliable)
    assert command.header.message_id == COMMAND.message_id
    assert (command.outcome.reason, command.outcome.number) == ("malformed_command", "")
    assert command.outcome.errors and all("\x00" not in e.message for e in command.outcome.errors)


def test_a_valid_command_signed_by_the_gateway_is_read_as_is() -> None:
    assert read(_sent(), key=KEY, signer=signing.gateway()) == COMMAND
    assert isinstance(COMMAND, CreateCallerNumbers)


def test_an_upstream_command_acts_as_the_system_its_key_names_whatever_it_claims() -> None:
    claimed = {"sub": "mallory", "role": "tenant_admin"}
    assert read(_sent(principal=claimed), key=KEY) == COMMAND.model_copy(update={"principal": CRM})


@pytest.mark.parametrize("key", [b"other", None, b""])
def test_a_key_that_is_not_the_tenant_id_is_a_key_mismatch(key: bytes | None) -> None:
    command = read(_sent(), key=key)
    assert isinstance(command, Unappliable) and command.outcome.reason == "key_mismatch"


def test_an_unreadable_principal_signed_by_the_gateway_is_answered_in_the_registrys_name() -> None:
    command = read(_sent(principal=None), key=KEY, signer=signing.gateway())
    assert isinstance(command, Unappliable) and command.header.principal is None
    event = outcome_event(command.header, 0, command.outcome, COMMAND.occurred_at)
    assert event.principal == REGISTRY


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe",
        _sent(message_id="x"),
        _sent(tenant_id=""),
        _sent(tenant_id="a\x00"),
    ],
    ids=["not-json", "a-list", "not-utf8", "bad-id", "empty-tenant", "nul-tenant"],
)
def test_a_command_without_a_readable_id_and_tenant_is_only_dead_lettered(body: bytes) -> None:
    with pytest.raises(ValidationError):
        read(body, key=KEY)


def test_a_malformed_upstream_command_is_answered_in_the_name_of_its_keys_system() -> None:
    command = read(_sent(principal=None), key=KEY)
    assert isinstance(command, Unappliable) and command.header.principal == CRM
    assert command.outcome.reason == "malformed_command"


def test_an_unsigned_command_is_answered_unauthenticated_in_the_registrys_name() -> None:
    unsigned = signing.Record(_sent(), KEY, [], signing.record(b"", key=KEY).timestamp)
    command = registry.read(unsigned, signing.verifier())
    assert isinstance(command, Unappliable) and command.header.principal is None
    assert (command.outcome.reason, command.outcome.number) == ("unauthenticated", "")
    assert "No signature" in (command.outcome.message or "")


def test_a_malformed_command_whose_signature_fails_is_unauthenticated_not_malformed() -> None:
    record = signing.record(_sent(numbers="x"), key=KEY)
    forged = signing.Record(_sent(numbers="y"), KEY, record.headers, record.timestamp)
    command = registry.read(forged, signing.verifier())
    assert isinstance(command, Unappliable) and command.outcome.reason == "unauthenticated"
