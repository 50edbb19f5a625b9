"""The AsyncAPI document covers every topic and message, and docs/asyncapi.json is current."""

import json

from shared import asyncapi, topics
from shared.message_examples import EXAMPLES
from shared.rules import Reason


def test_the_committed_document_is_current() -> None:
    committed = json.loads(asyncapi.DOCUMENT_PATH.read_text())
    assert committed == asyncapi.document(), (
        "docs/asyncapi.json is stale: `python -m shared.asyncapi --write`"
    )


def test_every_topic_is_a_channel_with_its_operations() -> None:
    document = asyncapi.document()
    assert set(document["channels"]) == set(topics.ALL)
    used = {op["channel"]["$ref"].split("/")[-1] for op in document["operations"].values()}
    assert used == set(topics.ALL)


def test_every_message_is_keyed_by_tenant_and_has_a_valid_example() -> None:
    for name, message in asyncapi.document()["components"]["messages"].items():
        assert "tenant id" in message["bindings"]["kafka"]["key"]["description"]
        [example] = message["examples"]
        model = next(m for m in EXAMPLES if m.__name__ == name)
        assert model.model_validate_json(json.dumps(example["payload"])) == EXAMPLES[model]


def test_each_message_names_its_version() -> None:
    messages = asyncapi.document()["components"]["messages"]
    assert {m["title"].rsplit(" ", 1)[1] for m in messages.values()} == {"v1"}
    for channel in asyncapi.document()["channels"].values():
        assert ".v1" in channel["address"]


def test_every_reason_code_is_documented_where_consumers_read_reasons() -> None:
    channels = asyncapi.document()["channels"]
    for topic in (topics.CALLER_NUMBER_EVENTS, topics.IMPORT_ROW_RESULTS):
        description = channels[topic]["description"]
        assert all(code.value in description for code in Reason), description
        assert "quota_exceeded" in description
