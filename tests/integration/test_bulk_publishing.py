"""A bulk operation whose chunks Kafka does not all take still ends, naming what was not sent.

The gateway's route runs against real PostgreSQL with a publisher that refuses chosen chunks
(the one handler under test); the registry's side of it is real too (`registry.apply`)."""

from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiokafka.errors import KafkaTimeoutError
from fastapi import Response

from services.api_gateway.auth import TenantCaller
from services.api_gateway.routes.bulk_operations import get_bulk_operation, start_bulk_operation
from services.api_gateway.schemas import BulkFilterIn, BulkOperationIn
from services.number_registry import registry
from shared.contracts import BULK_CHUNK, DeleteCallerNumbers, Principal, Role
from shared.db import Connection
from shared.db.pool import tenant_transaction
from shared.rules import Reason


class RefusingPublisher:
    """Takes every message but those whose turn is in `refuse` (1-based), which time out."""

    def __init__(self, refuse: set[int]) -> None:
        self.refuse = refuse
        self.sent: list[bytes] = []

    async def publish(self, message: bytes, **_: Any) -> None:
        turn = len(self.sent) + 1
        self.sent.append(message)
        if turn in self.refuse:
            raise KafkaTimeoutError("batch expired before it was sent")


@dataclass
class RefusingBus:
    caller_number_commands: RefusingPublisher

    async def send_command(self, command: DeleteCallerNumbers) -> None:
        await self.caller_number_commands.publish(command.model_dump_json().encode())


async def seed(pool: asyncpg.Pool, tenant: str, count: int) -> list[str]:
    numbers = [f"1555{i:07d}" for i in range(count)]
    async with tenant_transaction(pool, tenant) as conn:
        await conn.execute(
            "INSERT INTO caller_number (tenant_id, number) SELECT $1, unnest($2::text[])",
            tenant,
            numbers,
        )
    return numbers


async def remaining(conn: Connection, tenant: str) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM caller_number WHERE tenant_id = $1", tenant
    )
    return count


@pytest.mark.parametrize("refused", [{2}, {1, 2, 3}])
async def test_chunks_kafka_did_not_take_are_answered_not_sent_and_the_operation_ends(
    pool: asyncpg.Pool, tenant: str, refused: set[int]
) -> None:
    numbers = await seed(pool, tenant, 2 * BULK_CHUNK + 1)  # three chunks
    user = TenantCaller(tenant, Principal(sub="admin", role=Role.TENANT_ADMIN))
    bus = RefusingBus(RefusingPublisher(refuse=refused))
    body = BulkOperationIn(action="delete", filter=BulkFilterIn())

    started = await start_bulk_operation(body, user, pool, bus, Response())  # type: ignore[arg-type]

    # The registry gets the chunks Kafka took, as it would from the topic.
    sent = [DeleteCallerNumbers.model_validate_json(m) for m in bus.caller_number_commands.sent]
    delivered = [c for turn, c in enumerate(sent, 1) if turn not in refused]
    for command in delivered:
        async with tenant_transaction(pool, tenant) as conn:
            await registry.apply(conn, command)
    done = await get_bulk_operation(started.id, user, pool)
    assert done.status == "completed"
    unsent = sum(len(c.numbers) for turn, c in enumerate(sent, 1) if turn in refused)
    assert done.counts == {"rejected": unsent} | (
        {"deleted": len(numbers) - unsent} if unsent < len(numbers) else {}
    )
    async with tenant_transaction(pool, tenant) as conn:
        left = await remaining(conn, tenant)
    assert left == unsent  # nothing deleted that was reported not sent

    # A refused chunk that reached Kafka after all is not applied: its outcome stands.
    late = next(c for turn, c in enumerate(sent, 1) if turn in refused)
    async with tenant_transaction(pool, tenant) as conn:
        applied = await registry.apply(conn, late)
        left_after = await remaining(conn, tenant)
    assert {o.reason for o in applied.outcomes} == {Reason.NOT_SENT}
    assert left_after == unsent
