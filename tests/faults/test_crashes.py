"""Processes killed with SIGKILL at the worst moments: nothing lost, nothing applied twice."""

import random
import signal
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests import factories as f
from tests.faults.checker import assert_each_command_applied_once, processed_count
from tests.faults.cluster import Cluster
from tests.kafka import TopicTap
from tests.signing import send_command
from tests.waiting import deadline

pytestmark = pytest.mark.faults
MIN_CRASHES = 20


class TestRegistryCrashes:
    async def test_killed_between_its_commit_and_its_offset_commit_it_applies_each_command_once(
        self,
        cluster: Cluster,
        gateway: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        fault_events: TopicTap,
        db: asyncpg.Pool,
    ) -> None:
        # Killed after the database commit, before the events or the offset commit, or after
        # the events but before the offset commit: each time the command comes again.
        cluster.start(
            "number_registry", CRASH_POINTS="registry.after_commit=0.2,registry.after_publish=0.2"
        )
        tenant = await f.create_tenant(gateway)
        commands = []
        async for _ in deadline(300, every=0.05):
            if cluster.revive("number_registry"):
                continue
            if cluster.restarts["number_registry"] < MIN_CRASHES or len(commands) < 60:
                command = f.create_command(
                    tenant, [f"71{len(commands):06d}", f"72{len(commands):06d}"]
                )
                await send_command(producer, tenant, command.model_dump_json().encode())
                commands.append(command)
            elif await processed_count(db, tenant) == len(commands):
                break
        assert cluster.restarts["number_registry"] >= MIN_CRASHES
        print(f"registry: {len(commands)} commands, {cluster.restarts['number_registry']} kills")
        ids = {str(c.message_id) for c in commands}
        await fault_events.wait_for(
            lambda e: e.get("command_id") in ids, count=2 * len(commands), distinct=True
        )
        await fault_events.drain()
        mine = [e for e in fault_events.seen if e.get("command_id") in ids]
        await assert_each_command_applied_once(db, tenant, commands, mine)


def messy_csv(rows: int) -> bytes:
    """Mostly new numbers; every 1000th row not digits, every 997th a repeat of an earlier one."""
    lines = ["Caller Number"]
    for row in range(rows):
        if row % 1000 == 999:
            lines.append("12ab")
        elif row % 997 == 996:
            lines.append(lines[-500])
        else:
            lines.append(f"3{row:012d}")
    return ("\r\n".join(lines) + "\r\n").encode()


async def import_and_finish(
    gateway: httpx.AsyncClient, headers: dict[str, str], content: bytes, on_progress: Any = None
) -> tuple[dict[str, Any], str]:
    """Upload, follow the task to its end (calling `on_progress(task)` on the way); the task
    and its CSV report."""
    response = await gateway.post(
        "/api/v1/caller-number-imports", files={"file": ("n.csv", content)}, headers=headers
    )
    assert response.status_code == 202, response.text
    url = f"/api/v1/caller-number-imports/{response.json()['id']}"
    async for _ in deadline(180, every=0.05):
        response = await gateway.get(url, headers=headers)
        if response.status_code != 200:
            continue  # e.g. 503 while PostgreSQL is away
        task = response.json()
        counters = task["counters"]
        if on_progress is not None:
            on_progress(task)
        done = counters["succeeded"] + counters["failed"] == counters["rows_total"]
        if task["status"] == "completed" and done and task["report_ready"]:
            report = await gateway.get(f"{url}/result?format=csv", headers=headers)
            return task, report.text
    raise AssertionError(f"import not finished: {task}")


@dataclass
class KillAt:
    """Kills the worker (SIGKILL) and starts it again once `counter` reaches `target`."""

    cluster: Cluster
    counter: str
    target: int
    done: bool = False

    def __call__(self, task: dict[str, Any]) -> None:
        if not self.done and task["counters"][self.counter] >= self.target:
            self.cluster.kill("import_worker", signal.SIGKILL)
            self.cluster.revive("import_worker")
            self.done = True


class TestWorkerCrashes:
    async def test_killed_at_random_rows_an_import_resumes_and_ends_as_without_a_crash(
        self, cluster: Cluster, gateway: httpx.AsyncClient
    ) -> None:
        cluster.start("number_registry")
        cluster.start("import_worker")
        content = messy_csv(100_000)
        baseline, baseline_report = await import_and_finish(
            gateway, f.tenant_admin(await f.create_tenant(gateway)), content
        )
        for run in range(10):
            # Half the runs die while reading, half while recording results.
            kill = KillAt(
                cluster, ("rows_read", "succeeded")[run % 2], random.randint(1_000, 95_000)
            )
            admin = f.tenant_admin(await f.create_tenant(gateway))
            task, report = await import_and_finish(gateway, admin, content, kill)
            assert kill.done, f"run {run}: {kill} never came"
            print(f"worker run {run}: killed at {kill.counter} >= {kill.target}, same result")
            assert task["counters"] == baseline["counters"], f"run {run}: {kill}"
            assert report == baseline_report


def expected_counters(content: bytes) -> dict[str, int]:
    """What a correct import of `content` counts, worked out here independently."""
    seen: set[str] = set()
    succeeded = duplicates = invalid = 0
    for value in content.decode().split("\r\n")[1:-1]:
        if not value.isdigit():
            invalid += 1
        elif value in seen:
            duplicates += 1
        else:
            seen.add(value)
            succeeded += 1
    total = succeeded + duplicates + invalid
    return {
        "rows_total": total,
        "rows_read": total,
        "succeeded": succeeded,
        "failed": duplicates + invalid,
        "duplicates": duplicates,
        "not_processed": 0,
    }
