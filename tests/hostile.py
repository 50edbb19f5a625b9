"""Hostile HTTP clients, written over raw sockets so that nothing smooths them out."""

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

IMPORTS = "/api/v1/caller-number-imports"
BOUNDARY = "hostile0boundary"
SMALL_CSV = b"Caller Number\r\n0215\r\n"  # a 21-byte file


def upload_body(content: bytes = SMALL_CSV) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="n.csv"\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def upload_head(token: str, length: int) -> bytes:
    return (
        f"POST {IMPORTS} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()


@dataclass
class Answer:
    status: int  # 0: the connection closed without one
    seconds: float  # from the first byte sent to the answer
    headers: dict[str, str] = field(default_factory=dict)


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status = int((await reader.readline()).split()[1])
    headers = {}
    while (line := (await reader.readline()).decode().strip()) != "":
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def slow_upload(port: int, token: str, *, seconds_per_byte: float) -> Answer:
    """An upload that trickles one byte at a time, until it is answered."""
    started = time.monotonic()
    body = upload_body()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(upload_head(token, len(body)))
        answer = asyncio.ensure_future(_read_head(reader))
        for byte in body:
            done, _ = await asyncio.wait([answer], timeout=seconds_per_byte)  # the sender's pace
            if done:
                break
            writer.write(bytes([byte]))
            await writer.drain()
        status, headers = await asyncio.wait_for(answer, 120)
        return Answer(status, time.monotonic() - started, headers)
    except (ConnectionError, IndexError):  # closed on us without an answer
        return Answer(0, time.monotonic() - started)
    finally:
        writer.close()


async def quick_upload(port: int, token: str) -> Answer:
    """A small upload sent at once."""
    started = time.monotonic()
    body = upload_body()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(upload_head(token, len(body)) + body)
        status, headers = await asyncio.wait_for(_read_head(reader), 120)
        return Answer(status, time.monotonic() - started, headers)
    finally:
        writer.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")
