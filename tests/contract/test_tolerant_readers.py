"""Within a topic's major version every consumer ignores the fields it does not know and still
validates the ones it knows: each message type of each consumed topic, with extra fields."""

import typing
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from services.import_worker.main import create_app as create_worker
from services.number_registry import registry
from services.number_registry.main import create_app as create_registry
from shared import topics
from shared.asyncapi import CHANNELS
from shared.contracts import import_event_adapter
from shared.message_examples import EXAMPLES, TENANT
from shared.settings import get_settings
from tests import signing
from tests.generated import extra_fields


def _subscribers() -> dict[str, Any]:
    """Each topic the services subscribe to, with its handler, as create_app wires them."""
    brokers = [create(get_settings()).broker for create in (create_registry, create_worker)]
    return {
        topic.name: call.handler._original_call
        for broker in brokers
        if broker is not None
        for subscriber in broker.subscribers
        for topic in subscriber.topics
        for call in subscriber.calls
    }


def _declared_model(handler: Any) -> Callable[[bytes], object]:
    """How FastStream reads a subscriber's message: the model its first parameter names."""
    model: type[BaseModel] = next(iter(typing.get_type_hints(handler).values()))
    return model.model_validate_json


SUBSCRIBERS = _subscribers()
# Every consumer of the system, by the topic it reads.
READERS: dict[str, Callable[[bytes], object]] = {
    # The registry reads the record itself, so as to answer a command it cannot apply. Signed by
    # the gateway's key, whose commands keep the principal they carry.
    topics.CALLER_NUMBER_COMMANDS: lambda raw: registry.read(
        signing.record(raw, key=TENANT.encode(), signer=signing.gateway()), signing.verifier()
    ),
    topics.IMPORT_COMMANDS: _declared_model(SUBSCRIBERS[topics.IMPORT_COMMANDS]),
    topics.IMPORT_ROWS: _declared_model(SUBSCRIBERS[topics.IMPORT_ROWS]),
    topics.IMPORT_ROW_RESULTS: _declared_model(SUBSCRIBERS[topics.IMPORT_ROW_RESULTS]),
    # The operators' `python -m ops.imports watch`.
    topics.IMPORT_EVENTS: import_event_adapter.validate_json,
}
CONSUMED = [
    (channel.topic, model)
    for channel in CHANNELS
    if channel.topic in READERS
    for model in channel.messages
]


def test_every_consumed_topic_has_its_reader_here() -> None:
    assert set(SUBSCRIBERS) == set(topics.CONSUMED)
    assert set(READERS) == {*topics.CONSUMED, topics.IMPORT_EVENTS}


@pytest.mark.parametrize(
    ("topic", "model"), CONSUMED, ids=[f"{t}:{m.__name__}" for t, m in CONSUMED]
)
@given(data=st.data())
def test_a_message_with_fields_it_does_not_know_reads_as_without_them(
    topic: str, model: type[BaseModel], data: st.DataObject
) -> None:
    example = EXAMPLES[model]
    sent = example.model_dump(mode="json")
    sent |= data.draw(extra_fields(set(sent)), label="top-level extras")
    sent["principal"] |= data.draw(extra_fields(set(sent["principal"])), label="principal extras")
    assert READERS[topic](orjson.dumps(sent)) == example


@pytest.mark.parametrize(
    ("topic", "model"), CONSUMED, ids=[f"{t}:{m.__name__}" for t, m in CONSUMED]
)
def test_a_known_field_of_the_wrong_type_is_still_refused(
    topic: str, model: type[BaseModel]
) -> None:
    sent = EXAMPLES[model].model_dump(mode="json") | {"tenant_id": ["not", "a", "string"]}
    with pytest.raises(ValueError):
        READERS[topic](orjson.dumps(sent))
