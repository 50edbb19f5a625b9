"""number_registry's wiring: broker, database pool, health endpoint. Run with uvicorn."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream import ContextRepo
from faststream.asgi import AsgiFastStream

from services.number_registry.handlers import router
from shared import logs, observability
from shared.kafka import make_broker
from shared.runtime import backing_services
from shared.settings import get_settings

logs.configure("number-registry")
settings = get_settings()
broker = make_broker(settings, client_id="number-registry")
broker.include_router(router)


@asynccontextmanager
async def lifespan(context: ContextRepo) -> AsyncIterator[None]:
    async with backing_services(settings) as pool:
        context.set_global("pool", pool)
        yield


app = AsgiFastStream(
    broker,
    lifespan=lifespan,
    asgi_routes=observability.service_routes(broker),  # /health, /ready, /metrics
)
