"""Bearer JWT (HS256, secret AUTH_JWT_SECRET): who calls, for which tenant."""

import logging
import math
import time
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
)

from services.api_gateway.errors import ApiError
from shared import logs
from shared.contracts import Principal, Role, Text
from shared.settings import Settings

_ALGORITHM = "HS256"  # pinned: a token naming another algorithm (or none) is refused
_bearer = HTTPBearer(auto_error=False)
log = logging.getLogger(__name__)


class TokenClaims(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # A NumericDate (RFC 7519): a number, not a string that PyJWT would turn into one.
    exp: StrictInt | StrictFloat
    # Text: a claim PostgreSQL cannot hold (a NUL, a lone surrogate) makes the token invalid.
    sub: Text = Field(max_length=255)
    tenant_id: Text | None = None
    role: Role
    org_unit_id: Text | None = None
    accessible_org_unit_ids: list[Text] = []
    permissions: list[Text] = []

    @field_validator("sub")
    @classmethod
    def _not_blank(cls, sub: str) -> str:
        if not sub.strip():
            raise ValueError("sub is blank")
        return sub


@dataclass(frozen=True)
class Caller:
    tenant_id: str | None
    principal: Principal


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def decode_token(token: str, settings: Settings) -> Caller:
    """The caller a token names; 401 with a fixed message if it is not valid.

    Checked: the HS256 signature, a numeric `exp` in the future and at most
    AUTH_JWT_MAX_LIFETIME_SECONDS ahead, a non-blank `sub`, `role`, and `iss` / `aud` when
    those settings are set. The library's own error text goes to the log, not the caller.
    """
    try:
        payload = jwt.decode(
            token,
            settings.auth_jwt_secret,
            algorithms=[_ALGORITHM],
            issuer=settings.auth_jwt_issuer,
            audience=settings.auth_jwt_audience,
            options={
                "require": ["exp", "sub", "role"],
                "verify_aud": settings.auth_jwt_audience is not None,
            },
        )
        claims = TokenClaims.model_validate(payload)
    except jwt.ExpiredSignatureError as error:
        raise _unauthorized("The token has expired.") from error
    except (jwt.PyJWTError, ValidationError) as error:
        log.info("token refused: %s", error)
        raise _unauthorized("The token is not valid.") from error
    if (
        not math.isfinite(claims.exp)
        or claims.exp > time.time() + settings.auth_jwt_max_lifetime_seconds
    ):
        raise _unauthorized("The token's lifetime is longer than this service accepts.")
    if claims.role is Role.SERVICE:
        raise _unauthorized("Service principals publish on Kafka; they hold no HTTP tokens.")
    principal = Principal(
        sub=claims.sub,
        role=claims.role,
        org_unit_id=claims.org_unit_id,
        accessible_org_unit_ids=tuple(claims.accessible_org_unit_ids),
        permissions=tuple(claims.permissions),
    )
    return Caller(tenant_id=claims.tenant_id, principal=principal)


async def _caller(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Caller:
    if credentials is None:
        raise _unauthorized("A bearer token is required.")
    caller = decode_token(credentials.credentials, request.app.state.settings)
    logs.bind(tenant_id=caller.tenant_id)  # on this request's log line
    return caller


@dataclass(frozen=True)
class TenantCaller:
    tenant_id: str
    principal: Principal


async def _tenant_caller(caller: Caller = Depends(_caller)) -> TenantCaller:
    if caller.tenant_id is None or caller.principal.role is Role.SYSTEM_ADMIN:
        raise ApiError(403, "forbidden", "This endpoint is for a tenant's users.")
    return TenantCaller(tenant_id=caller.tenant_id, principal=caller.principal)


async def _system_admin(caller: Caller = Depends(_caller)) -> Caller:
    if caller.principal.role is not Role.SYSTEM_ADMIN:
        raise ApiError(403, "forbidden", "This endpoint is for system administrators.")
    return caller


CurrentUser = Annotated[TenantCaller, Depends(_tenant_caller)]
SystemAdmin = Annotated[Caller, Depends(_system_admin)]
