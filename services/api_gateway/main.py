"""api_gateway's wiring: the FastAPI app, its routes, the Kafka router, the database pool.

Run with `uvicorn --factory services.api_gateway.main:create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.api_gateway import docs, errors, web
from services.api_gateway.bus import create_bus
from services.api_gateway.headers import SecurityHeaders
from services.api_gateway.limits import BODY_REFUSALS, BodyLimits, BodyPolicy, TenantSlots
from services.api_gateway.observability import RequestObservation
from services.api_gateway.routes import (
    admin,
    audit,
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
from shared.contracts import BULK_CHUNK
from shared.db.pool import create_pool
from shared.runtime import backing_services
from shared.settings import Settings, get_settings


def body_policy(settings: Settings) -> BodyPolicy:
    """Small JSON bodies everywhere; the upload takes a file (and its multipart framing), and a
    bulk operation up to BULK_CHUNK numbers of up to 64 characters each."""
    upload_bytes = settings.import_max_upload_bytes + imports.MULTIPART_OVERHEAD_BYTES
    bulk_bytes = settings.http_max_body_bytes + BULK_CHUNK * 72
    return BodyPolicy(
        default_bytes=settings.http_max_body_bytes,
        route_bytes={
            ("POST", imports.UPLOAD_PATH): upload_bytes,
            ("POST", bulk_operations.router.prefix): bulk_bytes,
        },
        idle_seconds=settings.http_body_idle_timeout_seconds,
        total_seconds=settings.http_body_total_timeout_seconds,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway; its settings are read from the environment when not given."""
    settings = settings or get_settings()
    logs.configure("api-gateway", uvicorn_access_log=False)  # RequestObservation logs requests
    bus = create_bus(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with backing_services(settings, bus.router.broker) as pool:
            # Uploads hold a connection as long as the client takes to send the file: a pool of
            # their own, so that slow uploads never starve the rest of the API.
            uploads = await create_pool(settings.database_url, max_size=settings.upload_pool_size)
            waiter = CommandWaiter()
            await waiter.start(settings.database_url)
            app.state.pool, app.state.upload_pool, app.state.waiter = pool, uploads, waiter
            app.state.upload_slots = TenantSlots(settings.upload_max_concurrent_per_tenant)
            try:
                yield
            finally:
                await waiter.stop()
                await uploads.close()

    app = FastAPI(
        title="Caller Number Registry",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # docs.install serves /docs with its files
        redoc_url=None,
        responses=BODY_REFUSALS,
    )
    app.state.settings, app.state.bus = settings, bus
    errors.install(app)
    app.include_router(bus.router)  # starts and stops the Kafka producer with the app
    for routes in (
        admin,
        audit,
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
    docs.install(app)  # /docs and /asyncapi, their files under /docs-assets/, /asyncapi-assets/
    # Outermost last: headers on every answer, then metrics and the log line, then body limits.
    app.add_middleware(BodyLimits, policy=body_policy(settings))
    app.add_middleware(RequestObservation)  # HTTP metrics, one log line per request
    app.add_middleware(SecurityHeaders)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
