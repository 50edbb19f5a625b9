"""number_registry's wiring: broker, database pool, health endpoint.

Run with `uvicorn --factory services.number_registry.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream import ContextRepo
from faststream.asgi import AsgiFastStream

from services.number_registry.handlers import create_router
from shared import logs, observability
from shared.kafka import finish_handlers_in_flight, make_broker
from shared.runtime import backing_services
from shared.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """The registry as an ASGI app; its settings are read from the environment when not given."""
    settings = settings or get_settings()
    logs.configure("number-registry")
    broker = make_broker(settings, client_id="number-registry")
    broker.include_router(create_router(settings))

    @asynccontextmanager
    async def lifespan(context: ContextRepo) -> AsyncIterator[None]:
        async with backing_services(settings, broker) as pool:
            context.set_global("pool", pool)
            yield

    async def finish_in_flight() -> None:
        await finish_handlers_in_flight(broker)  # the import rows' consumers (max_workers)

    return AsgiFastStream(
        broker,
        lifespan=lifespan,
        on_shutdown=[finish_in_flight],
        asgi_routes=observability.service_routes(broker),  # /health, /ready, /metrics
    )
