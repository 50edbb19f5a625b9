"""Where the backing services come from: given by environment, testcontainers, or our script."""

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from shared.settings import Settings
from shared.signing.keyfiles import dev_keys

ROOT = Path(__file__).resolve().parent.parent
LOCAL_SERVICES = ROOT / "scripts" / "local-services.sh"
# The tests' own namespace of scripts/local-services.sh: own ports, own state folder.
TEST_NAMESPACE = ROOT / "scripts" / "test-namespace.env"
# The command keys of the tests' services: made once, kept across runs.
KEYS_DIR = ROOT / "test-output" / "keys"


class Backing(NamedTuple):
    kafka: str
    database_url: str  # the services' role, bound by row-level security
    database_owner_url: str  # the schema's owner: migrations, and tests that look underneath
    # Further settings these services need, as environment variables (e.g. Kafka credentials).
    extra_env: Mapping[str, str] = MappingProxyType({})
    # The environment in which scripts/local-services.sh controls these very services (the
    # fault suite stops and starts them); None when they are not ours to stop.
    local_services_env: Mapping[str, str] | None = None

    def settings(self, *, principal: str | None = None, **overrides: Any) -> Settings:
        """The services' settings on these backing services, as the Kafka admin or as
        `principal` (one of scripts/kafka/acls.txt); the rest from the environment."""
        env = {**self.env(), **(self.principal_env(principal) if principal else {})}
        return Settings(**{**{name.lower(): value for name, value in env.items()}, **overrides})

    def principal_env(self, principal: str) -> dict[str, str]:
        """One Kafka principal's KAFKA_SASL_* settings, over the admin's in `env()`."""
        return principal_env(self.env(), principal)

    def env(self) -> dict[str, str]:
        """The services' settings on these backing services, as environment variables."""
        return {
            **self.extra_env,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
            "DATABASE_URL": self.database_url,
            "DATABASE_OWNER_URL": self.database_owner_url,
        }

    def local_services(self, action: str, service: str) -> None:
        """`scripts/local-services.sh action service` on these services, never on others."""
        assert self.local_services_env is not None, "these services are not ours to stop"
        subprocess.run(
            ["bash", str(LOCAL_SERVICES), action, service],
            check=True,
            capture_output=True,
            env={**os.environ, **self.local_services_env},
        )


def principal_env(env: Mapping[str, str], principal: str) -> dict[str, str]:
    """The settings of a Kafka principal, from the credentials folder that
    scripts/local-services.sh made (KAFKA_CREDENTIALS_DIR); none for a broker without one."""
    folder = env.get("KAFKA_CREDENTIALS_DIR")
    return read_env_file(Path(folder) / f"{principal}.env") if folder else {}


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments are skipped."""
    lines = (line.strip() for line in path.read_text().splitlines())
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


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


def given_backing() -> Backing:
    """The services named by the environment. local-services.sh may stop them only when its
    settings in the environment (CNR_STATE_DIR, KAFKA_PORT, PG_PORT) name these very ports."""
    given = Backing(
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""),
        os.environ.get("DATABASE_URL", ""),
        os.environ.get("DATABASE_OWNER_URL", ""),
        extra_env={name: os.environ[name] for name in _KAFKA_SECURITY if name in os.environ},
    )
    kafka_port = urlsplit("//" + given.kafka.split(",")[0]).port
    pg_port = urlsplit(given.database_owner_url).port
    ours = (
        "CNR_STATE_DIR" in os.environ
        and kafka_port == int(os.environ.get("KAFKA_PORT", "9092"))
        and pg_port == int(os.environ.get("PG_PORT", "5432"))
    )
    return given._replace(local_services_env={} if ours else None)


def _start_test_namespace() -> Backing:
    """The tests' own Kafka and PostgreSQL (started if not running), and their settings as
    local-services.sh prints them."""
    namespace = read_env_file(TEST_NAMESPACE)
    started = subprocess.run(
        ["bash", str(LOCAL_SERVICES), "start"],
        check=True,
        stdout=subprocess.PIPE,  # its errors go to stderr, shown with the failure
        text=True,
        env={**os.environ, **namespace},
    ).stdout
    printed = started.split("# environment for the services:", 1)[1]
    env = dict(line.split("=", 1) for line in printed.split() if "=" in line)
    return Backing(
        env.pop("KAFKA_BOOTSTRAP_SERVERS"),
        env.pop("DATABASE_URL"),
        env.pop("DATABASE_OWNER_URL"),
        extra_env=env,
        local_services_env=namespace,
    )


@contextmanager
def backing_services() -> Iterator[Backing]:
    """Kafka and PostgreSQL for a test session or a benchmark: those the environment names,
    else testcontainers where Docker answers, else the tests' own namespace of local services
    (scripts/test-namespace.env), never the system of scripts/run-local.sh. Their settings
    include the development command keys of test-output/keys (tests/signing.py signs with them)."""
    with _backing() as services:
        yield services._replace(extra_env={**services.extra_env, **dev_keys(KEYS_DIR)})


@contextmanager
def _backing() -> Iterator[Backing]:
    if all(os.environ.get(name) for name in _GIVEN):
        yield given_backing()
    elif _docker_answers():
        with _containers() as services:
            yield services
    else:
        yield _start_test_namespace()


_GIVEN = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "DATABASE_OWNER_URL")
# How the given broker is reached: the admin's credentials, and where each principal's are.
_KAFKA_SECURITY = (
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_CREDENTIALS_DIR",
)
