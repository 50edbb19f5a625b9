"""One import over many instances: 2 registries and 2 workers give what 1 of each gives."""

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared import topics
from tests import factories as f
from tests import files
from tests.conftest import OUTPUT
from tests.e2e.test_imports import IMPORTS, finished, import_tenant, report, upload
from tests.processes import ServiceProcess
from tests.waiting import deadline

REGISTERED = [f"0766{n:07d}" for n in range(0, 300, 17)]  # in the tenant before the import


def numbers_file() -> list[str]:
    """300 data rows: numbers repeated in the file (up to 4 times, far apart), numbers already
    registered, and a few that are not numbers (the worker's own results)."""
    lines = []
    for n in range(300):
        if n % 7 == 3:
            lines.append(f"0766{(n * 3) % 120:07d}")  # repeats an earlier (or later) row
        elif n % 41 == 5:
            lines.append("12a4")
        else:
            lines.append(f"0766{n:07d}")
    return lines


async def import_once(
    http: httpx.AsyncClient, content: bytes
) -> tuple[Any, list[tuple[Any, ...]], bytes]:
    """A fresh tenant with REGISTERED in it imports `content`: counters, xlsx and csv reports."""
    _, admin = await import_tenant(http)
    await f.add_numbers(http, admin, REGISTERED)
    task = await upload(http, admin, content, name="numbers.csv")
    done = await finished(http, admin, task["id"])
    csv_report = await http.get(f"{IMPORTS}/{task['id']}/result?format=csv", headers=admin)
    assert csv_report.status_code == 200, csv_report.text
    return done["counters"], await report(http, admin, task["id"]), csv_report.content


def scraped(process: ServiceProcess, metric: str) -> list[tuple[str, float]]:
    """The metric's samples on the instance now: (labels, value)."""
    text = httpx.get(process.url + "/metrics", timeout=10).text
    pattern = re.compile(rf"^{metric}(\{{[^}}]*\}})? (\S+)$", re.MULTILINE)
    return [(labels or "", float(value)) for labels, value in pattern.findall(text)]


def rows_applied(process: ServiceProcess) -> float:
    return sum(value for _, value in scraped(process, "import_rows_applied_total"))


def answers_received(process: ServiceProcess) -> float:
    """Messages of the row-results topic the worker consumed (the registries' answers)."""
    name, topic = "faststream_received_messages_total", topics.IMPORT_ROW_RESULTS
    return sum(value for labels, value in scraped(process, name) if f'"{topic}"' in labels)


def holds_partitions(process: ServiceProcess, group: str) -> bool:
    return any(f'group="{group}"' in labels for labels, _ in scraped(process, "kafka_consumer_lag"))


@pytest.fixture
def second_instances(services: dict[str, ServiceProcess]) -> Iterator[dict[str, ServiceProcess]]:
    """A second registry and a second worker for the session's consumer groups, not started."""
    log_dir = OUTPUT / "logs" / "second"
    log_dir.mkdir(parents=True, exist_ok=True)
    # The session's registry has two consumers of the rows topic's three partitions: with the
    # second instance's one, the group has a member per partition, and each gets one.
    extra = {
        name: ServiceProcess(name, {**services[name].env, "IMPORT_ROWS_CONSUMERS": "1"}, log_dir)
        for name in ("number_registry", "import_worker")
    }
    try:
        yield extra
    finally:
        for process in extra.values():
            process.stop()  # a graceful leave: the session's instances take all back at once


class TestOneImportOverManyInstances:
    async def test_two_registries_and_two_workers_give_the_counters_and_report_of_one(
        self,
        http: httpx.AsyncClient,
        services: dict[str, ServiceProcess],
        second_instances: dict[str, ServiceProcess],
    ) -> None:
        content = files.csv(["Caller Number", *numbers_file()])
        alone = await import_once(http, content)

        for process in second_instances.values():
            process.start()
        registries = (services["number_registry"], second_instances["number_registry"])
        workers = (services["import_worker"], second_instances["import_worker"])
        async for _ in deadline(60, every=0.5):  # the groups rebalanced: each holds partitions
            if all(holds_partitions(r, "number-registry-imports") for r in registries) and all(
                holds_partitions(w, "import-worker-results") for w in workers
            ):
                break
        else:
            raise AssertionError("the second instances got no partitions")
        applied_before = [rows_applied(registry) for registry in registries]
        answered_before = answers_received(workers[1])

        spread = await import_once(http, content)

        counters, sheet, _ = alone
        assert counters["duplicates"] > len(REGISTERED) and counters["succeeded"] > 0
        assert any("is repeated in the file; row" in (line[3] or "") for line in sheet)
        assert spread == alone
        # Both registries applied rows of it, and the second worker took answers to them.
        assert all(rows_applied(r) > n for r, n in zip(registries, applied_before, strict=True))
        assert answers_received(workers[1]) > answered_before
