"""JSON logs, one line per event, naming the tenant, command and task of the work at hand."""

import asyncio
import contextvars
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Any, TypeVar

import orjson
from faststream import BaseMiddleware
from faststream.kafka.response import KafkaPublishCommand
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# The fields of the message or request being handled; a fresh dict per message and request.
_fields: ContextVar[dict[str, str] | None] = ContextVar("log_fields", default=None)
_COMMAND_TYPES = {"create", "update", "delete", "start_import"}
_SMALL = 64 * 1024  # bodies worth reading for their log fields; row batches are larger
_T = TypeVar("_T")
# FastStream's broker logger; given to every broker so that it writes through the root handler.
BROKER_LOGGER = logging.getLogger("faststream.kafka")


def new_context(**fields: str) -> None:
    _fields.set(dict(fields))


def start_task(coroutine: Coroutine[Any, Any, _T], *, name: str, **fields: str) -> asyncio.Task[_T]:
    """A background task with a log context of its own, holding `fields` only.

    A task otherwise shares its creator's fields dict: what one task binds, another's lines
    would show (two imports naming the same task id).
    """
    context = contextvars.copy_context()
    context.run(new_context, **fields)
    return asyncio.create_task(coroutine, name=name, context=context)


def bind(**fields: str | None) -> None:
    """Add fields to the current context; fields already bound are kept."""
    current = _fields.get()
    if current is None:
        current = {}
        _fields.set(current)
    for name, value in fields.items():
        if value is not None:
            current.setdefault(name, value)


def fields_of(message: dict[str, Any]) -> dict[str, str]:
    """The log fields a bus message names; a command's own id is its command id."""
    command_id = message.get("command_id")
    if command_id is None and message.get("type") in _COMMAND_TYPES:
        command_id = message.get("message_id")
    found = {
        "tenant_id": message.get("tenant_id"),
        "command_id": command_id,
        "task_id": message.get("task_id"),
    }
    return {name: str(value) for name, value in found.items() if value is not None}


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_fields.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def configure(service: str, *, level: int = logging.INFO, uvicorn_access_log: bool = True) -> None:
    """Every log line of this process as one JSON object on stdout: uvicorn's and FastStream's."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            timestamp="time",
            rename_fields={"levelname": "level", "name": "logger"},
            static_fields={"service": service},
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's copy with colours
        )
    )
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # These come with handlers of their own (and FastStream's with colours): route them to root.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", BROKER_LOGGER.name):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = not uvicorn_access_log


class LogContextMiddleware(BaseMiddleware[KafkaPublishCommand, Any]):
    """Binds the fields of each consumed message before FastStream logs "Received", and those of
    each published one. Not reset on exit: FastStream logs "Processed" and errors after it."""

    async def on_receive(self) -> None:
        record: Any = self.msg  # aiokafka's ConsumerRecord, or a batch's sequence of them
        if isinstance(record, tuple | list):
            new_context(batch_records=str(len(record)))  # each command's fields would be a guess
            return
        value = record.value or b""
        fields = fields_of(_json_object(value)) if len(value) < _SMALL else {}
        if record.key and "tenant_id" not in fields:  # the key is the tenant id
            fields["tenant_id"] = record.key.decode(errors="replace")
        new_context(**fields)

    async def publish_scope(
        self, call_next: Callable[[KafkaPublishCommand], Awaitable[Any]], cmd: KafkaPublishCommand
    ) -> Any:
        body = cmd.body
        if isinstance(body, bytes) and len(body) < _SMALL:
            body = _json_object(body)
        if isinstance(body, dict):
            bind(**fields_of(body))
        return await call_next(cmd)


def _json_object(value: bytes) -> dict[str, Any]:
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}
    return decoded if isinstance(decoded, dict) else {}
