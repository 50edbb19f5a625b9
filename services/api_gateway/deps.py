"""Request-scoped dependencies, and the common answer to a published command."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Request, Response

from services.api_gateway import bus
from services.api_gateway.auth import TenantCaller
from services.api_gateway.errors import not_found
from services.api_gateway.limits import TenantSlots
from services.api_gateway.schemas import CommandStatus
from services.api_gateway.waiter import CommandWaiter
from shared.access import TenantPolicy
from shared.contracts import CallerNumberCommand, NumberOutcome
from shared.db import Connection, commands, tenants
from shared.db.pool import tenant_transaction
from shared.settings import Settings

# The dependencies are `async def` although they never await: FastAPI runs a plain `def` one in
# a worker thread, a hop that cost more than the request's own work.


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def _waiter(request: Request) -> CommandWaiter:
    waiter: CommandWaiter = request.app.state.waiter
    return waiter


async def _upload_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.upload_pool
    return pool


async def _bus(request: Request) -> bus.Bus:
    kafka: bus.Bus = request.app.state.bus
    return kafka


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _upload_slots(request: Request) -> TenantSlots:
    slots: TenantSlots = request.app.state.upload_slots
    return slots


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
UploadSlots = Annotated[TenantSlots, Depends(_upload_slots)]
UploadPool = Annotated[asyncpg.Pool, Depends(_upload_pool)]
Waiter = Annotated[CommandWaiter, Depends(_waiter)]
Bus = Annotated[bus.Bus, Depends(_bus)]
AppSettings = Annotated[Settings, Depends(_settings)]
_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+(?:\.\d+)?)")


async def wait_seconds(settings: AppSettings, prefer: str | None = Header(default=None)) -> float:
    """RFC 7240 `Prefer: wait=N`, capped by the setting max_wait_seconds."""
    match = _PREFER_WAIT.search(prefer or "")
    return min(float(match.group(1)), settings.max_wait_seconds) if match else 0.0


WaitSeconds = Annotated[float, Depends(wait_seconds)]


@asynccontextmanager
async def policy_transaction(
    pool: asyncpg.Pool, user: TenantCaller
) -> AsyncIterator[tuple[Connection, TenantPolicy]]:
    """A transaction of the caller's tenant that starts with its policy (404 if the tenant
    does not exist). A command is decided in one: the policy, what the route reads to decide,
    and the pending record (`record_pending`), before `publish`; a refusal raised inside
    leaves nothing written."""
    async with tenant_transaction(pool, user.tenant_id) as conn:
        policy = await tenants.load_policy(conn, tenant_id=user.tenant_id)
        if policy is None:
            raise not_found("tenant")
        yield conn, policy


async def record_pending(conn: Connection, command: CallerNumberCommand) -> None:
    """Known as pending from now on, so that its Location never answers 404: recorded in the
    policy_transaction, before the command is published."""
    await commands.record_pending(
        conn,
        tenant_id=command.tenant_id,
        command_id=command.message_id,
        command_type=command.type,
        principal_sub=command.principal.sub,
    )


async def publish(
    command: CallerNumberCommand,
    *,
    response: Response,
    bus: Bus,
    pool: Pool,
    waiter: Waiter,
    wait: float,
) -> CommandStatus:
    """Publish a command recorded as pending; answer 202 with where to poll, or its outcome
    if it comes in time."""
    tenant_id, command_id = command.tenant_id, command.message_id
    with waiter.expecting(tenant_id=tenant_id, command_id=command_id) as expected:
        try:
            await bus.send_command(command)
        except BaseException:  # not sent after all (Kafka down, client gone): not pending either
            async with tenant_transaction(pool, tenant_id) as conn:
                await commands.forget_pending(conn, tenant_id=tenant_id, command_id=command_id)
            raise
        response.headers["Location"] = f"/api/v1/commands/{command.message_id}"
        # Listening since before the publish: no read needed until the NOTIFY.
        outcome = await expected.outcome(pool, seconds=wait) if wait > 0 else None
    if outcome is None:
        response.status_code = 202
        return CommandStatus(command_id=command.message_id, status="pending")
    response.status_code = 200
    results = [NumberOutcome.model_validate(item) for item in outcome.results]
    return CommandStatus(command_id=command.message_id, status="completed", results=results)


async def tenant_policy(pool: asyncpg.Pool, user: TenantCaller) -> TenantPolicy:
    """The caller's tenant as the rules need it; 404 if the tenant does not exist."""
    async with policy_transaction(pool, user) as (_, policy):
        return policy
