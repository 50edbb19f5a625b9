"""deploy/prometheus.yml scrapes every service of docker-compose.yml on the port it listens on."""

from typing import Any

import yaml

from tests.infra import ROOT
from tests.processes import APPS


def _load(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text())


def test_prometheus_scrapes_each_service_on_its_compose_port() -> None:
    compose = _load("docker-compose.yml")["services"]
    listening = {}
    for name in APPS:
        command = compose[name]["command"]
        port = command[command.index("--port") + 1]
        assert f"{port}:{port}" in compose[name]["ports"]
        listening[name] = f"{name}:{port}"
    jobs = _load("deploy/prometheus.yml")["scrape_configs"]
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in jobs}
    assert targets == {name: [target] for name, target in listening.items()}
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in jobs)


def test_prometheus_is_an_optional_profile_with_the_config_of_the_repo() -> None:
    prometheus = _load("docker-compose.yml")["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
