"""The one error shape of the API: {"error": {"code", "message", "details"}}."""

import logging
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from shared.kafka import TRANSIENT_ERRORS
from shared.rules import Reason, Rejection

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


_STATUS_OF_REASON = {
    Reason.TENANT_NOT_FOUND: 404,
    Reason.FEATURE_DISABLED: 403,
    Reason.PERMISSION_DENIED: 403,
    Reason.FORBIDDEN_ORG_UNIT: 403,
}


def refused(rejection: Rejection) -> ApiError:
    status = _STATUS_OF_REASON.get(rejection.reason, 422)
    return ApiError(status, rejection.reason, rejection.message)


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    error = {"code": code, "message": message, "details": details}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


_CODE_OF_STATUS = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "too_large",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """Every error of the API has this one shape."""

    error: ErrorDetail


def _error_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _document_errors(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, saying what every operation may answer besides success: a client
    error (4XX: bad token, refused, not found, not valid...) or 503, all in the one error shape."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, routes=app.routes)
        definitions = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(definitions.pop("$defs"), ErrorBody=definitions)
        for operation in (op for path in document["paths"].values() for op in path.values()):
            responses = operation.setdefault("responses", {})
            responses["422"] = _error_response("The request is not valid.")
            responses.setdefault("4XX", _error_response("Refused: see error.code."))
            responses.setdefault("503", _error_response("A backing service is unavailable."))
        app.openapi_schema = document
    return app.openapi_schema


def _message(error: Any) -> str:
    """Pydantic's message, with the cause FastAPI keeps apart for a body that is not JSON."""
    if error["type"] == "json_invalid" and (cause := error.get("ctx", {}).get("error")):
        return f"{error['msg']}: {cause}"
    return str(error["msg"])


def install(app: FastAPI) -> None:
    app.openapi = lambda: _document_errors(app)  # type: ignore[method-assign]  # FastAPI's hook

    @app.exception_handler(ApiError)
    async def on_api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e["loc"]), "message": _message(e), "type": e["type"]}
            for e in error.errors()
        ]
        return error_response(422, "validation_error", "The request is not valid.", details)

    @app.exception_handler(HTTPException)
    async def on_http(_: Request, error: HTTPException) -> JSONResponse:
        code = _CODE_OF_STATUS.get(error.status_code, "http_error")
        return error_response(error.status_code, code, str(error.detail))

    async def on_unavailable(_: Request, error: Exception) -> JSONResponse:
        message = "A backing service is unavailable; retry shortly."
        return error_response(503, "unavailable", message, type(error).__name__)

    for error_type in (*TRANSIENT_ERRORS, KafkaError):
        app.add_exception_handler(error_type, on_unavailable)

    @app.exception_handler(Exception)
    async def on_bug(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)  # the trace for us, the shape for them
        return error_response(
            500, "internal_error", "Something went wrong on our side; it is logged."
        )
