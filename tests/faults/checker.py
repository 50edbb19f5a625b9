"""The checker: every command and every import row reaches exactly one terminal state,
read back from PostgreSQL and the events topic, not eyeballed."""

from collections import defaultdict
from typing import Any

import asyncpg

from shared.contracts import CreateCallerNumbers
from shared.db.pool import tenant_transaction


async def processed_count(db: asyncpg.Pool, tenant: str) -> int:
    async with tenant_transaction(db, tenant) as conn:
        count: int = await conn.fetchval("SELECT count(*) FROM processed_command")
        return count


async def assert_each_command_applied_once(
    db: asyncpg.Pool,
    tenant: str,
    commands: list[CreateCallerNumbers],
    events: list[dict[str, Any]],
) -> None:
    """One stored outcome and one effect per command; its events, deduplicated by message id,
    once per number (a redelivered command sends the same events again, same ids)."""
    async with tenant_transaction(db, tenant) as conn:
        outcomes = await conn.fetch("SELECT command_id, outcome FROM processed_command")
        stored = [r["number"] for r in await conn.fetch("SELECT number FROM caller_number")]
        audited = await conn.fetch("SELECT number, action, command_id FROM caller_number_audit")
    assert {r["command_id"] for r in outcomes} == {c.message_id for c in commands}
    assert sorted(stored) == sorted(n for c in commands for n in c.numbers)
    assert all(o["status"] == "created" for r in outcomes for o in r["outcome"])
    # The audit history too: one record per effect, however often a command was delivered.
    assert sorted((r["number"], r["action"], r["command_id"]) for r in audited) == sorted(
        (n, "created", c.message_id) for c in commands for n in c.numbers
    )

    by_command: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for event in events:
        by_command[event["command_id"]][event["message_id"]] = event
    for command in commands:
        distinct = by_command[str(command.message_id)].values()
        assert sorted(e["caller_number"]["number"] for e in distinct) == sorted(command.numbers)
        assert {e["type"] for e in distinct} == {"created"}
