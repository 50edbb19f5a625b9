"""What operators see of every service: logs and metrics on its broker, readiness, /metrics."""

import asyncio
from typing import Any

import asyncpg
from faststream import Context
from faststream.asgi import AsgiResponse, get, make_ping_asgi
from faststream.asgi.response import JSONResponse
from faststream.asgi.types import ASGIApp, Scope
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared import logs, metrics

CHECK_TIMEOUT = 3.0


def broker_options(app_name: str) -> dict[str, Any]:
    """For a KafkaBroker or a FastAPI KafkaRouter: JSON logs with context, Prometheus metrics."""
    return {
        "logger": logs.BROKER_LOGGER,
        "middlewares": (logs.LogContextMiddleware, metrics.kafka_middleware(app_name)),
    }


async def readiness(broker: KafkaBroker, pool: asyncpg.Pool | None) -> dict[str, str]:
    """Each backing service with "ok" or what is wrong with it."""
    kafka_ok, postgres = await asyncio.gather(broker.ping(CHECK_TIMEOUT), _postgres(pool))
    return {"kafka": "ok" if kafka_ok else "unreachable", "postgres": postgres}


async def _postgres(pool: asyncpg.Pool | None) -> str:
    if pool is None:
        return "not connected yet"
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), CHECK_TIMEOUT)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
        return f"unreachable: {error!r}"
    return "ok"


def is_ready(checks: dict[str, str]) -> bool:
    return all(state == "ok" for state in checks.values())


def service_routes(broker: KafkaBroker) -> list[tuple[str, ASGIApp]]:
    """/health (the process and its broker answer), /ready (Kafka and PostgreSQL), /metrics."""

    @get
    async def ready(scope: Scope, pool: Any = Context("pool", default=None)) -> AsgiResponse:
        checks = await readiness(broker, pool)
        body = {"status": "ready" if is_ready(checks) else "not ready", "checks": checks}
        return JSONResponse(body, 200 if is_ready(checks) else 503)

    @get
    async def metrics_page(scope: Scope) -> AsgiResponse:
        await metrics.refresh_consumer_lag(broker)
        return AsgiResponse(generate_latest(), 200, {"Content-Type": CONTENT_TYPE_LATEST})

    return [
        ("/health", make_ping_asgi(broker, timeout=5.0)),
        ("/ready", ready),
        ("/metrics", metrics_page),
    ]
