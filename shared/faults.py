"""Crash and failure points for the fault-injection tests; inert unless the environment names them.

CRASH_POINTS="registry.after_commit=0.1,worker.after_rows_sent=0.02" makes the process kill
itself (SIGKILL: no cleanup, no offset commit) with that probability each time it passes the
point, to prove that the step after it may be lost without losing or doubling anything.
"""

import os
import random
import signal

_POINTS = {
    name.strip(): float(chance)
    for name, _, chance in (
        item.partition("=") for item in os.environ.get("CRASH_POINTS", "").split(",") if item
    )
}


def crash_point(name: str) -> None:
    chance = _POINTS.get(name)
    if chance is not None and random.random() < chance:
        os.kill(os.getpid(), signal.SIGKILL)


# FAIL_POINTS="registry.command:<message id>": the handler raises for it every time, like a
# bug that only some messages meet (the dead-letter path's test).
_FAILS = {
    tuple(item.strip().split(":", 1))
    for item in os.environ.get("FAIL_POINTS", "").split(",")
    if item
}


class InjectedFault(RuntimeError):
    pass


def fail_point(name: str, key: str) -> None:
    if (name, key) in _FAILS:
        raise InjectedFault(f"injected failure at {name} for {key}")
