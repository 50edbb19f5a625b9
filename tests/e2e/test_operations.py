"""What operators see of the running services: readiness, metrics, JSON logs, AsyncAPI."""

import json
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from shared import asyncapi, topics
from tests import factories as f
from tests import files
from tests.e2e.test_imports import finished, upload
from tests.kafka import TopicTap
from tests.processes import ServiceProcess
from tests.signing import send_command
from tests.waiting import deadline

Services = dict[str, ServiceProcess]


async def metric(service: ServiceProcess, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (0 if there are none)."""
    async with httpx.AsyncClient() as client:
        response = await client.get(service.url + "/metrics")
    assert response.status_code == 200
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def grows(service: ServiceProcess, name: str, since: float, **labels: str) -> float:
    async for _ in deadline(20, every=0.1):
        if (now := await metric(service, name, **labels)) > since:
            return now
    raise AssertionError(f"{name}{labels} stayed at {since}")


async def log_line(service: ServiceProcess, match: dict[str, str]) -> dict[str, Any]:
    """The first JSON line of the service's log that has every field of `match`."""
    path = service.log_dir / f"{service.name}.log"
    async for _ in deadline(20, every=0.1):
        for line in _json_lines(path):
            if match.items() <= line.items():
                return line
    raise AssertionError(f"no line with {match} in {path}")


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for text in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            continue  # what a library printed on its own
    return lines


class TestHealth:
    async def test_every_service_is_ready_when_kafka_and_postgres_answer(
        self, services: Services
    ) -> None:
        async with httpx.AsyncClient() as client:
            for service in services.values():
                response = await client.get(service.url + "/ready")
                assert response.status_code == 200, (service.name, response.text)
                assert response.json()["checks"] == {"kafka": "ok", "postgres": "ok"}


class TestMetrics:
    async def test_the_registry_counts_what_it_consumes_and_publishes_per_topic(
        self, services: Services, http: httpx.AsyncClient, producer: AIOKafkaProducer
    ) -> None:
        registry = services["number_registry"]
        consumed = {"handler": topics.CALLER_NUMBER_COMMANDS, "status": "acked"}
        published = {"destination": topics.CALLER_NUMBER_EVENTS, "status": "success"}
        before = await metric(registry, "faststream_received_processed_messages_total", **consumed)
        sent = await metric(registry, "faststream_published_messages_total", **published)
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["9001"])
        await send_command(producer, tenant, command.model_dump_json().encode())
        await grows(registry, "faststream_received_processed_messages_total", before, **consumed)
        await grows(registry, "faststream_published_messages_total", sent, **published)
        latency = "faststream_received_processed_messages_duration_seconds_count"
        assert await metric(registry, latency, handler=topics.CALLER_NUMBER_COMMANDS) > 0

    async def test_dead_lettered_messages_are_counted_by_source_topic(
        self, services: Services, http: httpx.AsyncClient, producer: AIOKafkaProducer
    ) -> None:
        registry = services["number_registry"]
        labels = {"topic": topics.CALLER_NUMBER_COMMANDS}
        before = await metric(registry, "dead_lettered_messages_total", **labels)
        await send_command(producer, "any-tenant", b"not json at all")
        await grows(registry, "dead_lettered_messages_total", before, **labels)

    async def test_consumer_lag_is_reported_per_partition(self, services: Services) -> None:
        expected = (
            ("number_registry", "number-registry"),
            ("number_registry", "number-registry-imports"),  # a consumer per partition
            ("import_worker", None),
        )
        for name, group in expected:
            async with httpx.AsyncClient() as client:
                text = (await client.get(services[name].url + "/metrics")).text
            lags = [
                sample
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "kafka_consumer_lag"
            ]
            assert lags, name
            assert all(s.value >= 0 and s.labels["partition"].isdigit() for s in lags)
            assert group is None or group in {s.labels["group"] for s in lags}

    async def test_the_gateway_counts_requests_by_route_not_by_path(
        self, services: Services, http: httpx.AsyncClient
    ) -> None:
        gateway = services["api_gateway"]
        route = "/api/v1/caller-numbers/{caller_number_id}"
        labels = {"method": "GET", "route": route, "status": "404"}
        before = await metric(gateway, "http_requests_total", **labels)
        tenant = await f.create_tenant(http)
        unknown = "/api/v1/caller-numbers/00000000-0000-0000-0000-000000000000"
        response = await http.get(unknown, headers=f.tenant_admin(tenant))
        assert response.status_code == 404
        assert await metric(gateway, "http_requests_total", **labels) == before + 1
        assert await metric(gateway, "http_request_duration_seconds_count", route=route) > 0

    async def test_the_gateway_counts_the_commands_it_publishes(
        self, services: Services, http: httpx.AsyncClient
    ) -> None:
        gateway = services["api_gateway"]
        labels = {"destination": topics.CALLER_NUMBER_COMMANDS, "status": "success"}
        before = await metric(gateway, "faststream_published_messages_total", **labels)
        tenant = await f.create_tenant(http)
        await f.add_numbers(http, f.tenant_admin(tenant), ["9301"])
        assert await metric(gateway, "faststream_published_messages_total", **labels) == before + 1

    async def test_the_worker_counts_import_rows_read_and_the_registry_their_results(
        self, services: Services, http: httpx.AsyncClient
    ) -> None:
        """The registry stores the results of the rows it answers; the worker those of the rows
        it refuses itself (a cell of the wrong format)."""
        worker, registry = services["import_worker"], services["number_registry"]
        read = await metric(worker, "import_rows_read_total")
        stored = await metric(registry, "import_row_results_total")
        refused = await metric(worker, "import_row_results_total")
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        numbers = [f"0766{n:07d}" for n in range(10)]
        task = await upload(http, admin, files.xlsx([*numbers, "not a number"]))
        await finished(http, admin, task["id"])
        assert await metric(worker, "import_rows_read_total") >= read + 11
        assert await metric(registry, "import_row_results_total") >= stored + 10
        assert await metric(worker, "import_row_results_total") >= refused + 1
        assert await metric(worker, "imports_active") >= 0


class TestLogs:
    async def test_the_registry_logs_json_lines_naming_the_tenant_and_command(
        self,
        services: Services,
        http: httpx.AsyncClient,
        producer: AIOKafkaProducer,
        events: TopicTap,
    ) -> None:
        tenant = await f.create_tenant(http)
        command = f.create_command(tenant, ["9101"])
        await send_command(producer, tenant, command.model_dump_json().encode())
        await events.wait_for(lambda e: e.get("command_id") == str(command.message_id))
        match = {"tenant_id": tenant, "command_id": str(command.message_id), "message": "Processed"}
        line = await log_line(services["number_registry"], match)
        assert line["service"] == "number-registry" and line["level"] == "INFO"
        assert line["topic"] == topics.CALLER_NUMBER_COMMANDS

    async def test_the_gateway_logs_each_request_with_its_tenant_and_command(
        self, services: Services, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        response = await http.post(
            "/api/v1/caller-numbers", json={"numbers": ["9201"]}, headers=f.tenant_admin(tenant)
        )
        assert response.status_code == 202
        match = {"tenant_id": tenant, "command_id": response.json()["command_id"]}
        line = await log_line(services["api_gateway"], match)
        assert line["logger"] == "api_gateway.access" and line["status"] == 202
        assert line["route"] == "/api/v1/caller-numbers"


class TestAsyncApi:
    async def test_the_gateway_serves_the_document_of_every_topic(
        self, http: httpx.AsyncClient
    ) -> None:
        response = await http.get("/asyncapi.json")
        assert response.status_code == 200
        assert response.json() == json.loads(asyncapi.render())
        page = await http.get("/asyncapi")
        assert page.status_code == 200 and "asyncapi-page.js" in page.text
