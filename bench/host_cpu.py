"""CPU seconds of the backing services when they run on this host: PostgreSQL (its postmaster
and every backend, those that ended included) and the Kafka broker. For the benches' per-stage
figures: on a 2-core machine the services, PostgreSQL and Kafka share one CPU budget. None
where a service runs out of sight (a container, another host).
"""

import os
from pathlib import Path

import asyncpg

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_cpu(pid: int, *, reaped_children: bool = False) -> float:
    """utime + stime of the process, in seconds (+ cutime + cstime: its children it waited for)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICK


async def postmaster_pid(database_url: str) -> int | None:
    """The postmaster of the server `database_url` reaches, if it runs on this host."""
    conn = await asyncpg.connect(database_url)
    try:  # read while the backend lives: it ends with the connection
        fields = _stat(await conn.fetchval("SELECT pg_backend_pid()"))
    finally:
        await conn.close()
    return None if fields is None else int(fields[1])  # the backend's parent


def postgres_cpu(postmaster: int) -> float:
    """The postmaster's CPU, its ended backends' (reaped) and its live backends'."""
    total = process_cpu(postmaster, reaped_children=True)
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def listener_pid(port: int) -> int | None:
    """The process that listens on TCP `port` of this host (the Kafka broker), if visible."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(entry.name)
        except OSError:
            continue
    return None
