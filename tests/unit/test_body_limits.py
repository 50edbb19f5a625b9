"""Request bodies are capped by route and timed before the app reads them (limits.py)."""

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI, Request
from hypothesis import given
from hypothesis import strategies as st

from services.api_gateway import errors
from services.api_gateway.limits import BodyLimits, BodyPolicy

CAP, UPLOAD_CAP = 1000, 5000
POLICY = BodyPolicy(
    default_bytes=CAP,
    route_bytes={("POST", "/upload"): UPLOAD_CAP},
    idle_seconds=0.2,
    total_seconds=0.5,
)


def limited_app() -> tuple[FastAPI, list[int]]:
    """An app whose routes report how many body bytes they were given."""
    app, seen = FastAPI(), []
    errors.install(app)

    @app.post("/json")
    async def json_route(request: Request) -> dict[str, int]:
        seen.append(len(await request.body()))
        return {"read": seen[-1]}

    @app.post("/upload")
    async def upload_route(request: Request) -> dict[str, int]:
        seen.append(sum([len(chunk) async for chunk in request.stream()]))
        return {"read": seen[-1]}

    app.add_middleware(BodyLimits, policy=POLICY)
    return app, seen


async def post(app: FastAPI, path: str, chunks: list[bytes], *, declared: bool) -> httpx.Response:
    async def stream() -> Any:
        for chunk in chunks:
            yield chunk

    content: Any = b"".join(chunks) if declared else stream()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.post(path, content=content)


@given(
    path=st.sampled_from(["/json", "/upload"]),
    sizes=st.lists(st.integers(0, 1500), min_size=1, max_size=6),
    declared=st.booleans(),
)
async def test_a_body_past_its_routes_cap_is_refused_before_the_route_has_it(
    path: str, sizes: list[int], declared: bool
) -> None:
    app, seen = limited_app()
    cap = UPLOAD_CAP if path == "/upload" else CAP
    response = await post(app, path, [b"x" * size for size in sizes], declared=declared)
    if sum(sizes) > cap:
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
        assert seen == []  # the route never got a body past the cap
    else:
        assert response.status_code == 200, response.text
        assert seen == [sum(sizes)]


async def test_a_declared_length_past_the_cap_is_answered_without_reading_the_body() -> None:
    app, seen = limited_app()
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"x" * 10, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/json",
        "headers": [(b"content-length", b"70000000")],
        "query_string": b"",
    }
    await app.build_middleware_stack()(scope, receive, send)
    assert sent[0]["status"] == 413 and received == 0 and seen == []


async def _hold(app: FastAPI, path: str, receive: Any) -> int:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    await app.build_middleware_stack()(scope, receive, send)
    status: int = sent[0]["status"]
    return status


async def test_a_body_that_stops_arriving_times_out_with_408() -> None:
    app, seen = limited_app()
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls > 1:
            await asyncio.Event().wait()  # the client sends nothing more
        return {"type": "http.request", "body": b"x", "more_body": True}

    assert await asyncio.wait_for(_hold(app, "/upload", receive), 5) == 408
    assert seen == []


async def test_a_body_that_trickles_past_the_total_time_is_refused_with_408() -> None:
    app, seen = limited_app()

    async def receive() -> dict[str, Any]:  # one byte every 0.1 s: never idle, never done
        await asyncio.sleep(0.1)  # the slow sender's pace, not a synchronisation
        return {"type": "http.request", "body": b"x", "more_body": True}

    assert await asyncio.wait_for(_hold(app, "/upload", receive), 5) == 408
    assert seen == []
