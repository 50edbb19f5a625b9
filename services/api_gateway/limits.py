"""Limits before work: each request body is capped by route and timed, before parsing or auth.

Pure ASGI and outside the routes, so a body that is too large or too slow is refused before
FastAPI reads it, before the token is checked and before any connection is taken.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api_gateway.errors import ApiError, error_response

# For the OpenAPI document: what any route may answer before it runs.
BODY_REFUSALS: dict[int | str, dict[str, Any]] = {
    408: {"description": "The body stopped arriving, or took too long (`request_timeout`)."},
    413: {"description": "The body is larger than the route takes (`too_large`)."},
}


class BodyRefused(HTTPException):
    """Raised from `receive`: the routes' error handlers answer it in the API's error shape."""


def too_large(max_bytes: int) -> BodyRefused:
    return BodyRefused(413, f"The request body is larger than {max_bytes} bytes.")


def too_slow(what: str) -> BodyRefused:
    return BodyRefused(408, f"The request body {what}; send it again.")


@dataclass(frozen=True)
class BodyPolicy:
    default_bytes: int
    route_bytes: dict[tuple[str, str], int]  # (method, path) -> cap, for the few large bodies
    idle_seconds: float
    total_seconds: float

    def cap(self, method: str, path: str) -> int:
        return self.route_bytes.get((method, path.rstrip("/") or "/"), self.default_bytes)


class BodyLimits:
    def __init__(self, app: ASGIApp, policy: BodyPolicy) -> None:
        self.app, self.policy = app, policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.policy.cap(scope["method"], scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            # Answered without reading a byte; the server then closes the connection.
            refused = too_large(cap)
            await error_response(413, "too_large", refused.detail)(scope, receive, send)
            return
        await self.app(scope, _Body(receive, cap, self.policy).receive, send)


class _Body:
    """Counts and times the body as the app reads it; past its end, `receive` is left alone."""

    def __init__(self, receive: Receive, cap: int, policy: BodyPolicy) -> None:
        self._receive, self._cap, self._policy = receive, cap, policy
        self._deadline = time.monotonic() + policy.total_seconds
        self._size, self._done = 0, False

    async def receive(self) -> Message:
        if self._done:  # only http.disconnect is left to wait for
            return await self._receive()
        left = self._deadline - time.monotonic()
        try:
            async with asyncio.timeout(min(self._policy.idle_seconds, max(left, 0))):
                message = await self._receive()
        except TimeoutError:
            raise too_slow(
                "stopped arriving" if left > self._policy.idle_seconds else "took too long"
            ) from None
        if message["type"] == "http.request":
            self._size += len(message.get("body", b""))
            if self._size > self._cap:
                raise too_large(self._cap)
            self._done = not message.get("more_body", False)
        return message


class TenantSlots:
    """At most `limit` requests of one tenant at once in this process; the next gets 429.

    Uploads hold a connection of the small upload pool while the client sends: without a
    per-tenant bound, one tenant's slow senders would take every connection.
    """

    RETRY_AFTER_SECONDS = 10

    def __init__(self, limit: int) -> None:
        self._limit, self._held = limit, Counter[str]()

    @contextmanager
    def hold(self, tenant_id: str) -> Iterator[None]:
        if self._held[tenant_id] >= self._limit:
            raise ApiError(
                429,
                "too_many_uploads",
                f"Your organization already has {self._limit} uploads in progress; "
                "retry when one has finished.",
                headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)},
            )
        self._held[tenant_id] += 1
        try:
            yield
        finally:
            self._held[tenant_id] -= 1
            if not self._held[tenant_id]:
                del self._held[tenant_id]
