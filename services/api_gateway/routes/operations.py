"""Operators and upstream systems: readiness, metrics, the AsyncAPI document of every topic."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api_gateway.deps import Bus
from services.api_gateway.strict_json import StrictJsonRoute
from shared import asyncapi
from shared.observability import is_ready, readiness

router = APIRouter(tags=["operations"], route_class=StrictJsonRoute)


@router.get("/ready")
async def ready(request: Request, bus: Bus) -> JSONResponse:
    """Kafka and PostgreSQL answer: 200, else 503 with what is wrong."""
    checks = await readiness(bus.router.broker, getattr(request.app.state, "pool", None))
    body = {"status": "ready" if is_ready(checks) else "not ready", "checks": checks}
    return JSONResponse(body, status_code=200 if is_ready(checks) else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/asyncapi.json")
async def asyncapi_document() -> JSONResponse:
    """The AsyncAPI 3.0 document of every topic (also in docs/asyncapi.json)."""
    return JSONResponse(asyncapi.document())
