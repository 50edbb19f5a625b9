"""The one error shape of the API: {"error": {"code", "message", "details"}}."""

import logging
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e["loc"]), "message": e["msg"], "type": e["type"]} for e in error.errors()
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
