"""Where the backing services come from: given by environment, testcontainers, or our script."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_SERVICES = ROOT / "scripts" / "local-services.sh"
DEFAULT_KAFKA = "127.0.0.1:9092"
DEFAULT_DATABASE = "postgresql://registry:registry@127.0.0.1:5432/caller_numbers"


def _docker_answers() -> bool:
    try:
        import docker  # comes with testcontainers

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # no engine, no socket, no permission: all mean "not here"
        return False


@contextmanager
def _containers() -> Iterator[tuple[str, str]]:
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
        yield kafka.get_bootstrap_server(), postgres.get_connection_url()


@contextmanager
def backing_services() -> Iterator[tuple[str, str]]:
    """(Kafka bootstrap servers, database URL) for the test session."""
    kafka, database = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("DATABASE_URL")
    if kafka and database:
        yield kafka, database
    elif _docker_answers():
        with _containers() as services:
            yield services
    else:
        subprocess.run(["bash", str(LOCAL_SERVICES), "start"], check=True)
        yield DEFAULT_KAFKA, DEFAULT_DATABASE
