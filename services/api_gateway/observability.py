"""Each HTTP request: its Prometheus metrics and one JSON log line (tenant, command, task)."""

import logging
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import logs

HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests by method, route and status", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration by method and route",
    ["method", "route"],
)
access_log = logging.getLogger("api_gateway.access")
# Label values come from closed sets, so a client cannot grow /metrics: a made-up method
# counts as "other", a path no route knows as "unmatched".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


class RequestObservation:
    """Pure ASGI, so the request's log fields (bound by auth and by the publishers) reach here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        logs.new_context()
        started, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            # The route's template, not the path: ids in paths would make a series per id.
            route = getattr(scope.get("route"), "path", "unmatched")
            method = method_label(scope["method"])
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(seconds)
            access_log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={"route": route, "status": status, "duration_ms": round(seconds * 1000, 1)},
            )
