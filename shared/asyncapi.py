"""The AsyncAPI 3.0 document of every topic, built from the message models in shared/contracts.py.

python -m shared.asyncapi            # print it
python -m shared.asyncapi --write    # write docs/asyncapi.json (a test checks it is current)
"""

import argparse
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared import contracts as c
from shared import topics
from shared.message_examples import EXAMPLES
from shared.rules import Reason
from shared.signing import Signer

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.json"
Action = Literal["send", "receive"]
KEY = {"type": "string", "description": "The tenant id (all of a tenant's messages keep order)."}
# Stable codes a consumer may match on (`reason`, `reason_code`); codes are added within v1
# (quota_exceeded was), so a consumer treats one it does not know as a refusal.
REASON_CODES = (
    "Reason codes (`reason` of rejected, `reason_code` of a row result): "
    + ", ".join(Reason)
    + ". Codes may be added within v1: treat one you do not know as a refusal and show its "
    "message."
)


@dataclass(frozen=True)
class Channel:
    topic: str
    description: str
    messages: tuple[type[BaseModel], ...]
    # What the Caller Number Registry does on the topic.
    actions: tuple[Action, ...]


CHANNELS = (
    Channel(
        topics.CALLER_NUMBER_COMMANDS,
        "Create, update and delete caller numbers. Upstream systems publish here with their own "
        "message_id; the gateway publishes the same commands for the users it authenticated. "
        "Every command is signed: the headers kid, signed-at and signature (CommandSignature), "
        "by the gateway's key or by the upstream system's own key, which the registry trusts "
        "for some tenants only. The principal is taken from the key: an upstream system acts "
        'as {"sub": "<its system name>", "role": "service"} whatever the command says; for '
        "the gateway it is the user it signed. The broker stamps each record's append time "
        "(LogAppendTime), and signed-at must lie within 300 s of it. The key must be the tenant "
        "id. Every command whose message_id and tenant_id can be read is answered on "
        "caller-numbers.events.v1, if only with `rejected`: reason unauthenticated (no, unknown, "
        "bad or stale signature, or a tenant the key may not act for; answered as "
        "number-registry), malformed_command (with the validation errors) or key_mismatch; such "
        "a command also goes to the dead-letter topic.",
        (
            c.CreateCallerNumbers,
            c.UpdateCallerNumber,
            c.DeleteCallerNumber,
            c.DeleteCallerNumbers,
            c.MoveCallerNumbers,
        ),
        ("receive",),
    ),
    Channel(
        topics.CALLER_NUMBER_EVENTS,
        "The outcome of each command, one event per number, naming the command in command_id. "
        "A redelivered command yields the same events again (same message_id): drop duplicates. "
        "A create past the tenant's quota (maximum caller numbers) is `rejected` per number "
        "with reason quota_exceeded, the first new numbers of the command taking the places "
        "left. " + REASON_CODES,
        (
            c.CallerNumberCreated,
            c.CallerNumberUpdated,
            c.CallerNumberDeleted,
            c.CallerNumberRejected,
        ),
        ("send",),
    ),
    Channel(
        topics.IMPORT_COMMANDS,
        "Start reading the uploaded file of an import task (the gateway publishes it).",
        (c.StartImport,),
        ("receive",),
    ),
    Channel(
        topics.IMPORT_EVENTS,
        "Import task lifecycle and progress: started, progressed (about once a second), then "
        "completed, failed or cancelled, each with the task's counters.",
        (c.ImportStarted, c.ImportProgressed, c.ImportCompleted, c.ImportFailed, c.ImportCancelled),
        ("send",),
    ),
    Channel(
        topics.IMPORT_ROWS,
        "Internal: the well-formed rows of an import, in batches, from import_worker to "
        "number_registry. Keyed by the tenant id, but sent to an explicit partition: the CRC-32 "
        "of the row's number modulo the partition count, so one import spreads over the "
        "registry instances and each number's rows stay in one partition, in file order.",
        (c.ImportRowsRead,),
        ("send", "receive"),
    ),
    Channel(
        topics.IMPORT_ROW_RESULTS,
        "Internal: what became of each row, from number_registry back to import_worker. "
        "Keyed by the tenant id, sent to the partition of the rows they answer (modulo the "
        "partition count), so one import's results spread over the workers; rows past the "
        "tenant's quota fail with reason_code quota_exceeded. " + REASON_CODES,
        (c.ImportRowsApplied,),
        ("send", "receive"),
    ),
    *(
        Channel(
            topics.dead_letter_topic(source),
            f"Messages of {source} that could not be processed, with the error; the key is the "
            "source message's key.",
            (c.DeadLetter,),
            ("send",),
        )
        for source in topics.CONSUMED
    ),
)


COMMANDS = CHANNELS[0]
assert COMMANDS.topic == topics.CALLER_NUMBER_COMMANDS
# Every message type on the bus, once.
MESSAGES = tuple(dict.fromkeys(m for channel in CHANNELS for m in channel.messages))
# What the document gives a schema of: the messages and the commands' headers.
SCHEMAS: tuple[type[BaseModel], ...] = (*MESSAGES, c.CommandSignature)
SUMMARIES: dict[type[BaseModel], str] = {
    c.CreateCallerNumbers: "Add 1 to 100 numbers; each one succeeds or fails on its own.",
    c.UpdateCallerNumber: "Set the OU (null: Unorganized) and the description of one number.",
    c.DeleteCallerNumber: "Delete one number, named by its digits.",
    c.DeleteCallerNumbers: "Delete up to 1,000 numbers; each one succeeds or fails on its own.",
    c.MoveCallerNumbers: "Move up to 1,000 numbers to one OU; each one on its own.",
    c.CallerNumberCreated: "A number was added.",
    c.CallerNumberUpdated: "A number's OU or description was changed.",
    c.CallerNumberDeleted: "A number was deleted.",
    c.CallerNumberRejected: "A number of the command was refused, with a reason code; number "
    '"" and reason unauthenticated, malformed_command (errors say why) or key_mismatch: the '
    "whole command.",
    c.StartImport: "Read the uploaded file of an import task (stored in PostgreSQL).",
    c.ImportRowsRead: "A batch of well-formed rows of one import, in file order; a row may "
    "name its own OU (id or path of names) and description, else the batch's apply; a dry run "
    "(dry_run: true) is checked by every rule and writes no number.",
    c.ImportRowsApplied: "A batch's rows are answered (their results are stored with them).",
    c.ImportStarted: "The task's file was checked and its reading began.",
    c.ImportProgressed: "The task's counters moved.",
    c.ImportCompleted: "Every row has its result; the report can be downloaded. For a dry run "
    "(dry_run: true) the counters are what an import would reach, and nothing was written.",
    c.ImportFailed: "The file cannot be imported (error_code says why).",
    c.ImportCancelled: "A user stopped the task; rows not reached count as not processed.",
    c.DeadLetter: "A message that could not be processed, with its error and origin.",
}


def schema_version(model: type[BaseModel]) -> int:
    version: int = model.model_fields["schema_version"].default
    return version


def message_name(model: type[BaseModel]) -> str:
    """The `type` a message carries on the wire (dead letters have none: their model name)."""
    field = model.model_fields.get("type")
    return str(field.default) if field is not None else model.__name__


@cache
def document() -> dict[str, Any]:
    refs, definitions = models_json_schema(
        [(m, "validation") for m in SCHEMAS],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Caller Number Registry",
            "version": "1",
            "description": "Every message is JSON with `message_id` and `schema_version`; all "
            "but dead letters also carry `tenant_id`, the acting `principal` and `occurred_at`. "
            "The key is the tenant id. Within a version a message only gains optional fields, so "
            "every consumer ignores fields it does not know (the ones it knows are validated as "
            "documented; schemas leave additionalProperties open for that reason); a breaking "
            "change raises `schema_version` and moves to a new topic (`.v2`).",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "scripts/run-local.sh; elsewhere the KAFKA_BOOTSTRAP_SERVERS given.",
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            }
        },
        "channels": {ch.topic: _channel(ch) for ch in CHANNELS},
        "operations": {
            f"{action}-{ch.topic}": _operation(ch, action)
            for ch in CHANNELS
            for action in ch.actions
        },
        "components": {
            "messages": {m.__name__: _message(m, refs[(m, "validation")]) for m in MESSAGES},
            "schemas": definitions["$defs"],
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "SASL/SCRAM-SHA-512 (SASL_PLAINTEXT locally, SASL_SSL in "
                    "production). Each principal may use only the topics and consumer groups its "
                    "ACLs name (scripts/kafka/acls.txt): an upstream system writes "
                    "caller-numbers.commands.v1 and reads caller-numbers.events.v1 (every "
                    "tenant's events: an ACL is per topic) in consumer groups named upstream-*; "
                    "the other topics are the services' own.",
                }
            },
        },
    }


def _channel(channel: Channel) -> dict[str, Any]:
    return {
        "address": channel.topic,
        "description": channel.description,
        "messages": {
            message_name(m): {"$ref": f"#/components/messages/{m.__name__}"}
            for m in channel.messages
        },
        "bindings": {"kafka": {"topic": channel.topic, "bindingVersion": "0.5.0"}},
    }


def _operation(channel: Channel, action: Action) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel.topic}"},
        "messages": [
            {"$ref": f"#/channels/{channel.topic}/messages/{message_name(m)}"}
            for m in channel.messages
        ],
    }


def _message(model: type[BaseModel], payload: dict[str, Any]) -> dict[str, Any]:
    version = schema_version(model)
    example: dict[str, Any] = {"name": message_name(model)}
    signed = model in COMMANDS.messages
    if signed:
        example["headers"] = example_signature(EXAMPLES[model])
    example["payload"] = EXAMPLES[model].model_dump(mode="json")
    return {
        "name": message_name(model),
        "title": f"{model.__name__} v{version}",
        "summary": SUMMARIES[model],
        "contentType": "application/json",
        **({"headers": {"$ref": "#/components/schemas/CommandSignature"}} if signed else {}),
        "payload": payload,
        "bindings": {"kafka": {"key": KEY, "bindingVersion": "0.5.0"}},
        "examples": [example],
    }


# Signs the examples: a fixed key, so the document stays the same (no real system uses it).
_EXAMPLE_SIGNER = Signer("crm-2025-01", Ed25519PrivateKey.from_private_bytes(bytes(range(32))))


def example_signature(command: BaseModel) -> dict[str, str]:
    """The signature headers of an example command, as sent by `model_dump_json`."""
    assert isinstance(command, c.Message)
    at = int(command.occurred_at.timestamp() * 1000)
    return _EXAMPLE_SIGNER.headers(command.model_dump_json().encode(), signed_at_ms=at)


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="The AsyncAPI document of every topic.")
    parser.add_argument("--write", action="store_true", help=f"write {DOCUMENT_PATH}")
    if parser.parse_args().write:
        DOCUMENT_PATH.parent.mkdir(exist_ok=True)
        DOCUMENT_PATH.write_text(render())
        print(f"wrote {DOCUMENT_PATH}")
    else:
        print(render(), end="")


if __name__ == "__main__":
    main()
