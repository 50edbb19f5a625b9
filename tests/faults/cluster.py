"""The three services as processes that a fault test may kill, restart and reconfigure."""

import contextlib
import signal
from pathlib import Path

from tests.processes import APPS, ServiceProcess, free_port

# Production settings but quick recovery: a dead reader's lease runs out in 3 s.
FAULT_SETTINGS = {
    "IMPORT_LEASE_SECONDS": "3",
    "IMPORT_TAKEOVER_INTERVAL_SECONDS": "0.5",
}


class Cluster:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self._env, self._log_dir = {**env, **FAULT_SETTINGS}, log_dir
        self._ports = {name: free_port() for name in APPS}
        self.processes: dict[str, ServiceProcess] = {}
        self.restarts = dict.fromkeys(APPS, 0)

    def start(self, name: str, **extra_env: str) -> ServiceProcess:
        # Static membership: a restarted instance takes its partitions back at once (not the
        # registry's import-row consumers, dynamic members: shared/kafka.py at_least_once).
        env = {**self._env, "KAFKA_INSTANCE_ID": f"{name}-fault-test", **extra_env}
        self.processes[name] = ServiceProcess(name, env, self._log_dir, port=self._ports[name])
        self._start(name)
        return self.processes[name]

    def _start(self, name: str) -> None:
        # It may crash on purpose before it is healthy: `revive` starts it again.
        with contextlib.suppress(AssertionError):
            self.processes[name].start()

    def url(self, name: str) -> str:
        return self.processes[name].url

    def dead(self, name: str) -> bool:
        process = self.processes[name].process
        return process is None or process.poll() is not None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.processes[name].stop(sig)

    def revive(self, name: str) -> bool:
        """Start the service again with its last settings if it died; True if it had."""
        if not self.dead(name):
            return False
        old = self.processes[name]
        self.processes[name] = ServiceProcess(name, old.env, self._log_dir, port=old.port)
        self.restarts[name] += 1
        self._start(name)
        return True

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop()
