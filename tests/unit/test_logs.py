"""Each background task logs its own tenant and task, whatever its creator bound."""

import asyncio
import logging

import pytest

from shared import logs


async def _import(task_id: str, started: asyncio.Barrier) -> None:
    await started.wait()  # both run at once
    logs.bind(task_id="bound-by-publish")  # what a publish binds inside the task
    logging.getLogger("worker").info("import %s: reading", task_id)
    await started.wait()
    logging.getLogger("worker").info("import %s: done", task_id)


async def test_two_concurrent_background_tasks_log_their_own_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = caplog.handler
    handler.addFilter(logs._ContextFilter())
    logs.new_context(tenant_id="the-consumers-message")  # the creator's own fields
    started = asyncio.Barrier(2)
    with caplog.at_level(logging.INFO, logger="worker"):
        await asyncio.gather(
            logs.start_task(_import("A", started), name="a", tenant_id="ta", task_id="A"),
            logs.start_task(_import("B", started), name="b", tenant_id="tb", task_id="B"),
        )
    lines = [
        (r.getMessage().split()[1][:-1], r.__dict__["task_id"], r.__dict__["tenant_id"])
        for r in caplog.records
    ]
    assert sorted(lines) == [("A", "A", "ta")] * 2 + [("B", "B", "tb")] * 2
