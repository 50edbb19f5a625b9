"""import_worker's wiring: broker, database pool, the import runner, health. Run with uvicorn."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream import ContextRepo
from faststream.asgi import AsgiFastStream

from services.import_worker.handlers import import_events, router, rows_out
from services.import_worker.progress import Progress
from services.import_worker.runner import ImportRunner
from shared import logs, observability
from shared.kafka import make_broker
from shared.runtime import backing_services
from shared.settings import get_settings

logs.configure("import-worker")
settings = get_settings()
broker = make_broker(settings, client_id="import-worker")
broker.include_router(router)


@asynccontextmanager
async def lifespan(context: ContextRepo) -> AsyncIterator[None]:
    async with backing_services(settings) as pool:
        progress = Progress(
            pool=pool,
            publisher=import_events,
            min_interval=settings.import_progress_interval_seconds,
        )
        runner = ImportRunner(
            pool=pool, rows_publisher=rows_out, progress=progress, settings=settings
        )
        context.set_global("pool", pool)
        context.set_global("progress", progress)
        context.set_global("runner", runner)
        taking_over = asyncio.create_task(runner.take_over_forever())
        try:
            yield
        finally:
            taking_over.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await taking_over
            await runner.stop()


app = AsgiFastStream(
    broker,
    lifespan=lifespan,
    asgi_routes=observability.service_routes(broker),  # /health, /ready, /metrics
)
