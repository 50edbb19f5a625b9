"""api_gateway's wiring: the FastAPI app, its routes, the Kafka router, the database pool.

Run with `uvicorn --factory services.api_gateway.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.api_gateway import errors, web
from services.api_gateway.bus import create_bus
from services.api_gateway.observability import RequestObservation
from services.api_gateway.routes import (
    admin,
    bulk_operations,
    caller_numbers,
    commands,
    imports,
    me,
    operations,
    org_units,
)
from services.api_gateway.waiter import CommandWaiter
from shared import logs
from shared.db.pool import create_pool
from shared.runtime import backing_services
from shared.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway; its settings are read from the environment when not given."""
    settings = settings or get_settings()
    logs.configure("api-gateway", uvicorn_access_log=False)  # RequestObservation logs requests
    bus = create_bus(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with backing_services(settings) as pool:
            # Uploads hold a connection as long as the client takes to send the file: a pool of
            # their own, so that slow uploads never starve the rest of the API.
            uploads = await create_pool(settings.database_url, max_size=settings.upload_pool_size)
            waiter = CommandWaiter()
            await waiter.start(settings.database_url)
            app.state.pool, app.state.upload_pool, app.state.waiter = pool, uploads, waiter
            try:
                yield
            finally:
                await waiter.stop()
                await uploads.close()

    app = FastAPI(title="Caller Number Registry", version="1", lifespan=lifespan)
    app.state.settings, app.state.bus = settings, bus
    errors.install(app)
    app.include_router(bus.router)  # starts and stops the Kafka producer with the app
    for routes in (
        admin,
        bulk_operations,
        caller_numbers,
        commands,
        imports,
        me,
        operations,
        org_units,
    ):
        app.include_router(routes.router)
    web.install(app)  # the page at /, its files under /web/
    app.add_middleware(RequestObservation)  # HTTP metrics, one log line per request

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
