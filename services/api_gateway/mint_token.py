"""Mints a local JWT, e.g. `python -m services.api_gateway.mint_token --role system_admin`."""

import argparse
from datetime import UTC, datetime, timedelta

import jwt

from shared.settings import get_settings


def mint(
    *,
    sub: str,
    role: str,
    tenant_id: str | None = None,
    org_unit_id: str | None = None,
    accessible_org_unit_ids: list[str] | None = None,
    permissions: list[str] | None = None,
    ttl: timedelta = timedelta(hours=8),
) -> str:
    claims = {
        "sub": sub,
        "role": role,
        "tenant_id": tenant_id,
        "org_unit_id": org_unit_id,
        "accessible_org_unit_ids": accessible_org_unit_ids or [],
        "permissions": permissions or [],
        "exp": datetime.now(UTC) + ttl,
    }
    if get_settings().auth_jwt_issuer:
        claims["iss"] = get_settings().auth_jwt_issuer
    if get_settings().auth_jwt_audience:
        claims["aud"] = get_settings().auth_jwt_audience
    return jwt.encode(claims, get_settings().auth_jwt_secret, algorithm="HS256")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sub", default="local-user")
    parser.add_argument("--role", required=True, choices=["system_admin", "tenant_admin", "agent"])
    parser.add_argument("--tenant")
    parser.add_argument("--org-unit")
    parser.add_argument("--accessible", nargs="*", default=[], help="accessible OU ids")
    parser.add_argument("--permission", nargs="*", default=[], help="e.g. caller_number:add")
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args()
    print(
        mint(
            sub=args.sub,
            role=args.role,
            tenant_id=args.tenant,
            org_unit_id=args.org_unit,
            accessible_org_unit_ids=args.accessible,
            permissions=args.permission,
            ttl=timedelta(hours=args.hours),
        )
    )


if __name__ == "__main__":
    main()
