"""Watch imports live, or list them, from the import events topic (no gateway, no token needed).

    python -m ops.imports watch               # running imports, live: progress, rows/s, ETA
                                              #   (piped: one JSON line per change)
    python -m ops.imports list [--json]       # every import the topic still holds, then exit

Both read caller-number-imports.events.v1 from its beginning (as far as Kafka's retention
keeps it), so they know the tasks that started before them; `watch` then follows the topic.
--bootstrap-servers, else the KAFKA_BOOTSTRAP_SERVERS setting, names the Kafka cluster.
"""

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from ops.board import Board
from ops.render import board_table
from shared import topics
from shared.contracts import ImportEventUnion, import_event_adapter
from shared.kafka import client_options
from shared.settings import Settings, get_settings

REDRAW_MS = 500  # also redraws when no event comes, so rates and ETAs stay current


class EventReader:
    """The import events of every partition, from the beginning of the topic."""

    def __init__(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        self._consumer, self._partitions = consumer, partitions

    async def until_now(self) -> AsyncIterator[ImportEventUnion]:
        """The events published before this call."""
        ends = await self._consumer.end_offsets(self._partitions)
        while any([await self._consumer.position(p) < ends[p] for p in self._partitions]):
            for event in await self._batch(timeout_ms=1000):
                yield event

    async def from_now(self) -> AsyncIterator[list[ImportEventUnion]]:
        """Batches of the events that come next; an empty batch after REDRAW_MS without any."""
        while True:
            yield await self._batch(timeout_ms=REDRAW_MS)

    async def _batch(self, *, timeout_ms: int) -> list[ImportEventUnion]:
        batch = await self._consumer.getmany(timeout_ms=timeout_ms)
        events = []
        for record in (r for records in batch.values() for r in records):
            try:
                events.append(import_event_adapter.validate_json(record.value or b""))
            except ValidationError:
                continue  # not an import event of a version we know: not ours to show
        return events


@asynccontextmanager
async def open_events(settings: Settings) -> AsyncIterator[EventReader]:
    # No group: every partition is ours, read from the beginning, and nothing is committed.
    consumer = AIOKafkaConsumer(
        topics.IMPORT_EVENTS,
        **client_options(settings),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        await consumer.start()
    except KafkaError as error:
        await consumer.stop()
        where = settings.kafka_bootstrap_servers
        raise SystemExit(
            f"Cannot read {topics.IMPORT_EVENTS} from Kafka at {where}: {error}"
        ) from None
    try:
        partitions = list(consumer.assignment())
        if not partitions:
            where = settings.kafka_bootstrap_servers
            raise SystemExit(f"{topics.IMPORT_EVENTS} does not exist on {where}")
        yield EventReader(consumer, partitions)
    finally:
        await consumer.stop()


async def list_imports(settings: Settings, *, as_json: bool) -> None:
    board = Board()
    bootstrap_servers = settings.kafka_bootstrap_servers
    async with open_events(settings) as reader:
        async for event in reader.until_now():
            board.apply(event)
    if as_json:
        print(json.dumps([view.as_json() for view in board.shown()], indent=2))
    else:
        Console().print(board_table(board.shown(), title=f"Imports on {bootstrap_servers}"))


async def watch(settings: Settings) -> None:
    board = Board()
    console = Console()
    bootstrap_servers = settings.kafka_bootstrap_servers
    if not console.is_terminal:
        await _watch_lines(settings)
        return
    async with open_events(settings) as reader:
        with console.status(f"Reading {topics.IMPORT_EVENTS} from its beginning..."):
            async for event in reader.until_now():
                board.apply(event)
        board.hide_finished()
        with Live(_screen(board, bootstrap_servers), console=console, auto_refresh=False) as live:
            async for events in reader.from_now():
                for event in events:
                    board.apply(event)
                live.update(_screen(board, bootstrap_servers), refresh=True)


async def _watch_lines(settings: Settings) -> None:
    """For a pipe or a log: the running imports, then one JSON line per task at each event."""
    board = Board()
    async with open_events(settings) as reader:
        async for event in reader.until_now():
            board.apply(event)
        board.hide_finished()
        where = settings.kafka_bootstrap_servers
        print(f"Following {topics.IMPORT_EVENTS} on {where}", file=sys.stderr, flush=True)
        for view in board.shown():
            print(json.dumps(view.as_json()), flush=True)
        async for events in reader.from_now():
            for event in events:
                board.apply(event)
                print(json.dumps(board.tasks[event.task_id].as_json()), flush=True)


def _screen(board: Board, bootstrap_servers: str) -> Group | Table:
    shown = board.shown()
    title = f"Imports on {bootstrap_servers} (Ctrl+C to quit)"
    if not shown:
        return Group(title, "No import running; waiting for one to start.")
    return board_table(shown, title=title)


def main() -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--bootstrap-servers", help="Kafka, e.g. 127.0.0.1:9092 (default: KAFKA_BOOTSTRAP_SERVERS)"
    )
    parser = argparse.ArgumentParser(
        prog="python -m ops.imports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("watch", parents=[common], help="show running imports live")
    listing = commands.add_parser(
        "list", parents=[common], help="every import the topic holds, newest first"
    )
    listing.add_argument("--json", action="store_true", help="a JSON array, for scripts")
    args = parser.parse_args()
    settings = get_settings()
    if args.bootstrap_servers:
        settings = settings.model_copy(update={"kafka_bootstrap_servers": args.bootstrap_servers})
    try:
        if args.command == "watch":
            asyncio.run(watch(settings))
        else:
            asyncio.run(list_imports(settings, as_json=args.json))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
