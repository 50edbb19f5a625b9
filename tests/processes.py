"""The three services as real processes, as they run in production (uvicorn, own env)."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.infra import ROOT, Backing, principal_env

# Each service's app factory, run as production runs it: `uvicorn --factory`.
APPS = {
    "api_gateway": "services.api_gateway.main:create_app",
    "number_registry": "services.number_registry.main:create_app",
    "import_worker": "services.import_worker.main:create_app",
}
# Each service's own Kafka principal (scripts/kafka/acls.txt): it may touch its topics only.
PRINCIPALS = {
    "api_gateway": "api-gateway",
    "number_registry": "number-registry",
    "import_worker": "import-worker",
}


# uvicorn closes a keep-alive connection after 5 s idle, httpx keeps one 5 s: a request sent on
# it as the server closes it reads a reset (httpx.ReadError). Test clients let theirs go first.
CLIENT_LIMITS = httpx.Limits(keepalive_expiry=2.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    name: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60.0) -> None:
        log = (self.log_dir / f"{self.name}.log").open("ab")
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            APPS[self.name],
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        env = {**self.env, **principal_env(self.env, PRINCIPALS[self.name])}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        self.wait_healthy(timeout=timeout)

    def wait_healthy(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, (
                f"{self.name} exited; see {self.log_dir / (self.name + '.log')}"
            )
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code < 300:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)  # polling a condition with a deadline
        raise TimeoutError(f"{self.name} not healthy within {timeout}s")

    def stop(self, sig: int = signal.SIGTERM, *, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def service_env(backing: Backing, *, secret: str) -> dict[str, str]:
    """The services' environment with production settings."""
    return {
        **os.environ,
        **backing.env(),
        "AUTH_JWT_SECRET": secret,
        # The local PostgreSQL keeps the repository's development passwords.
        "DEVELOPMENT_MODE": "true",
        "PYTHONUNBUFFERED": "1",
    }


# Small limits keep the import tests quick and let them reach every limit.
TEST_LIMITS = {
    "IMPORT_MAX_ROWS": "1000",
    "IMPORT_MAX_CSV_ROWS": "1000",
    "IMPORT_BATCH_ROWS": "10",
    "IMPORT_MAX_UPLOAD_BYTES": str(1024 * 1024),
    "IMPORT_PENDING_GRACE_SECONDS": "1",
    "IMPORT_TAKEOVER_INTERVAL_SECONDS": "0.5",
    "EXPORT_XLSX_MAX_ROWS": "50",
    # Two of the three row partitions' consumers in the session's registry: every import test
    # goes through consumers side by side, and a second instance (with one) gets the third.
    "IMPORT_ROWS_CONSUMERS": "2",
}
