"""Where the backing services come from: given by environment, testcontainers, or our script."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
LOCAL_SERVICES = ROOT / "scripts" / "local-services.sh"


class Backing(NamedTuple):
    kafka: str
    database_url: str  # the services' role, bound by row-level security
    database_owner_url: str  # the schema's owner: migrations, and tests that look underneath


LOCAL = Backing(
    "127.0.0.1:9092",
    "postgresql://registry_app:registry_app@127.0.0.1:5432/caller_numbers",
    "postgresql://registry:registry@127.0.0.1:5432/caller_numbers",
)


def _docker_answers() -> bool:
    try:
        import docker  # comes with testcontainers

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # no engine, no socket, no permission: all mean "not here"
        return False


@contextmanager
def _containers() -> Iterator[Backing]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with ExitStack() as stack:
        kafka = stack.enter_context(KafkaContainer("apache/kafka:4.1.1").with_kraft())
        postgres = stack.enter_context(
            PostgresContainer(
                "postgres:15",
                username="registry",
                password="registry",
                dbname="caller_numbers",
                driver=None,
            )
        )
        owner = postgres.get_connection_url()
        role = "CREATE ROLE registry_app LOGIN NOBYPASSRLS PASSWORD 'registry_app'"
        postgres.exec(["psql", "-U", "registry", "-d", "caller_numbers", "-c", role])
        app = owner.replace("registry:registry@", "registry_app:registry_app@", 1)
        yield Backing(kafka.get_bootstrap_server(), app, owner)


@contextmanager
def backing_services() -> Iterator[Backing]:
    """Kafka and PostgreSQL for a test session or a benchmark."""
    given = Backing(
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""),
        os.environ.get("DATABASE_URL", ""),
        os.environ.get("DATABASE_OWNER_URL", ""),
    )
    if all(given):
        yield given
    elif _docker_answers():
        with _containers() as services:
            yield services
    else:
        subprocess.run(["bash", str(LOCAL_SERVICES), "start"], check=True)
        yield LOCAL
