"""import_worker's wiring: broker, database pool, health endpoint. Run with uvicorn."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream import ContextRepo
from faststream.asgi import AsgiFastStream, make_ping_asgi

from shared.kafka import make_broker
from shared.runtime import backing_services
from shared.settings import get_settings

settings = get_settings()
broker = make_broker(settings, client_id="import-worker")


@asynccontextmanager
async def lifespan(context: ContextRepo) -> AsyncIterator[None]:
    async with backing_services(settings) as pool:
        context.set_global("pool", pool)
        yield


app = AsgiFastStream(
    broker,
    lifespan=lifespan,
    asgi_routes=[("/health", make_ping_asgi(broker, timeout=5.0))],
)
