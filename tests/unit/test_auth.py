from datetime import timedelta

import jwt
import pytest

from services.api_gateway.auth import decode_token
from services.api_gateway.errors import ApiError
from services.api_gateway.mint_token import mint
from shared.contracts import Role
from shared.settings import get_settings


def test_a_minted_token_decodes_to_its_principal() -> None:
    token = mint(sub="u1", role="agent", tenant_id="t1", org_unit_id="ou", permissions=["x"])
    caller = decode_token(token, get_settings())
    assert caller.tenant_id == "t1" and caller.principal.role is Role.AGENT
    assert caller.principal.permissions == ("x",)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(mint(sub="u", role="agent", ttl=timedelta(seconds=-1)), id="expired"),
        pytest.param(
            jwt.encode({"sub": "u", "role": "agent"}, get_settings().auth_jwt_secret), id="no-exp"
        ),
        pytest.param(
            jwt.encode({"sub": "u", "role": "tenant_admin", "exp": 9999999999}, "x" * 40),
            id="other-secret",
        ),
        pytest.param(
            jwt.encode({"sub": "u", "role": "tenant_admin", "exp": 9999999999}, None, "none"),
            id="alg-none",
        ),
        pytest.param(
            jwt.encode(
                {"sub": "u", "role": "tenant_admin", "exp": 9999999999},
                get_settings().auth_jwt_secret,
                "HS512",
            ),
            id="other-algorithm",
        ),
        pytest.param(mint(sub="u", role="service"), id="service-role"),
        pytest.param("not-a-token", id="garbage"),
    ],
)
def test_a_bad_token_is_unauthorized(token: str) -> None:
    with pytest.raises(ApiError) as raised:
        decode_token(token, get_settings())
    assert raised.value.status == 401
