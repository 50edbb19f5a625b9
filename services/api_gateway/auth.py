"""Bearer JWT (HS256, secret AUTH_JWT_SECRET): who calls, for which tenant."""

from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, ValidationError

from services.api_gateway.errors import ApiError
from shared import logs
from shared.contracts import Principal, Role, Text
from shared.settings import Settings

_ALGORITHM = "HS256"  # pinned: a token naming another algorithm (or none) is refused
_bearer = HTTPBearer(auto_error=False)


class TokenClaims(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # Text: a claim PostgreSQL cannot hold (a NUL, a lone surrogate) makes the token invalid.
    sub: Text
    tenant_id: Text | None = None
    role: Role
    org_unit_id: Text | None = None
    accessible_org_unit_ids: list[Text] = []
    permissions: list[Text] = []


@dataclass(frozen=True)
class Caller:
    tenant_id: str | None
    principal: Principal


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def decode_token(token: str, settings: Settings) -> Caller:
    try:
        payload = jwt.decode(
            token,
            settings.auth_jwt_secret,
            algorithms=[_ALGORITHM],
            issuer=settings.auth_jwt_issuer,
            options={"require": ["exp", "sub", "role"]},
        )
        claims = TokenClaims.model_validate(payload)
    except jwt.PyJWTError as error:
        raise _unauthorized(f"The token is not valid: {error}.") from error
    except ValidationError as error:
        raise _unauthorized("The token's claims are not valid.") from error
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
