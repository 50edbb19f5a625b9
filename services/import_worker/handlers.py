"""The worker's subscribers: start an import; finish it once the registry has answered its rows
(and record the results an older registry still sends)."""

from faststream import Context
from faststream.kafka import KafkaRouter

from services.import_worker.progress import Progress
from services.import_worker.runner import ImportRunner
from shared import topics
from shared.contracts import ImportRowsApplied, StartImport
from shared.db.imports import RowResult
from shared.faults import crash_point, fail_point
from shared.kafka import BULK_FETCH_BYTES, at_least_once, model_decoder
from shared.settings import Settings


def create_router(settings: Settings) -> KafkaRouter:
    """The worker's subscribers, for one broker. The runner and the progress publish (main.py)."""
    router = KafkaRouter()

    # Acked as soon as the read has started in the background: a long read inside the handler
    # would outlast max_poll_interval_ms, and the group would hand the command out again and
    # again.
    @router.subscriber(topics.IMPORT_COMMANDS, **at_least_once("import-worker", settings))
    async def on_start_import(command: StartImport, runner: ImportRunner = Context()) -> None:
        await runner.start(command.tenant_id, command.task_id)

    @router.subscriber(
        topics.IMPORT_ROW_RESULTS,
        **at_least_once(
            "import-worker-results", settings, max_partition_fetch_bytes=BULK_FETCH_BYTES
        ),
        decoder=model_decoder(ImportRowsApplied),
    )
    async def on_rows_applied(applied: ImportRowsApplied, progress: Progress = Context()) -> None:
        fail_point("worker.results", applied.tenant_id)
        # Empty from a current registry, which stored them; an older one lists them here.
        results = [RowResult(**result.model_dump()) for result in applied.results]
        await progress.record(applied.tenant_id, applied.task_id, results)
        crash_point("worker.after_results_recorded")

    return router
