"""Waiting on a condition with a deadline, never a bare sleep."""

import asyncio
from collections.abc import AsyncIterator


async def deadline(seconds: float, *, every: float = 0.05) -> AsyncIterator[int]:
    """Yields attempt numbers until `seconds` have passed, pausing `every` between attempts."""
    loop = asyncio.get_running_loop()
    end, attempt = loop.time() + seconds, 0
    while loop.time() < end:
        yield attempt
        attempt += 1
        await asyncio.sleep(every)
