"""A published message's JSON schema changes only on purpose: each is held by a golden file."""

import inspect
import json

import pytest
from pydantic import BaseModel

from shared import contracts
from shared.asyncapi import MESSAGES, SCHEMAS, schema_version
from tests.contract.golden import current_schema, golden_path


def _changed(model: type[BaseModel]) -> str:
    name = model.__name__
    version = schema_version(model) if "schema_version" in model.model_fields else 1
    return (
        f"The JSON schema of {name} v{version} differs from {golden_path(model).name}. "
        f"A breaking change (a field removed, renamed, retyped or made required) raises "
        f"schema_version to {version + 1} and moves to a .v{version + 1} topic. A compatible one "
        f"(an optional field added, a description) is accepted with "
        f"`python -m tests.contract.golden --accept {name}`."
    )


@pytest.mark.parametrize("model", SCHEMAS, ids=lambda model: model.__name__)
def test_each_message_schema_matches_its_golden(model: type[BaseModel]) -> None:
    path = golden_path(model)
    assert path.exists(), f"No {path.name}: write it with `python -m tests.contract.golden`."
    assert json.loads(path.read_text()) == current_schema(model), _changed(model)


def test_every_message_of_the_contracts_has_a_golden() -> None:
    wire = {
        model
        for _, model in inspect.getmembers(contracts, inspect.isclass)
        if issubclass(model, BaseModel)
        and "schema_version" in model.model_fields
        and ("type" in model.model_fields or model is contracts.DeadLetter)
    }
    assert wire == set(MESSAGES)
