"""import_worker's wiring: broker, database pool, the import runner, health.

Run with `uvicorn --factory services.import_worker.main:create_app`."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from faststream import ContextRepo
from faststream.asgi import AsgiFastStream
from faststream.kafka import KafkaBroker

from services.import_worker.handlers import create_router
from services.import_worker.progress import Progress
from services.import_worker.runner import ImportRunner
from services.import_worker.upkeep import Upkeep
from shared import logs, observability, topics
from shared.kafka import make_broker
from shared.runtime import backing_services
from shared.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> AsgiFastStream:
    """The worker as an ASGI app; its settings are read from the environment when not given."""
    settings = settings or get_settings()
    logs.configure("import-worker")
    broker = make_broker(settings, client_id="import-worker")
    broker.include_router(create_router(settings))
    rows_out = broker.publisher(topics.IMPORT_ROWS, title="import rows")
    import_events = broker.publisher(topics.IMPORT_EVENTS, title="import task events")

    @asynccontextmanager
    async def lifespan(context: ContextRepo) -> AsyncIterator[None]:
        async with backing_services(settings, broker) as pool:
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
            upkeep = Upkeep(
                pool=pool,
                runner=runner,
                progress=progress,
                settings=settings,
                services_answer=lambda: _answer(broker, pool),
            )
            context.set_global("runner", runner)
            taking_over = asyncio.create_task(upkeep.forever())
            try:
                yield
            finally:
                taking_over.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await taking_over
                await runner.stop()

    return AsgiFastStream(
        broker,
        lifespan=lifespan,
        asgi_routes=observability.service_routes(broker),  # /health, /ready, /metrics
    )


async def _answer(broker: KafkaBroker, pool: asyncpg.Pool) -> bool:
    """Kafka and PostgreSQL answer: only then does a task's lack of progress count."""
    return observability.is_ready(await observability.readiness(broker, pool))
