import math
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import TypeGuard

import jwt
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

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


SECRET = get_settings().auth_jwt_secret
MAX_LIFETIME = get_settings().auth_jwt_max_lifetime_seconds
FIXED_MESSAGES = {
    "The token is not valid.",
    "The token has expired.",
    "The token's lifetime is longer than this service accepts.",
}


def signed(**claims: object) -> str:
    return jwt.encode({"role": "tenant_admin", "tenant_id": "t1", **claims}, SECRET, "HS256")


def _numeric(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


any_exp = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.integers(-60, 2 * MAX_LIFETIME).map(lambda ahead: int(time.time()) + ahead),
    st.integers(-60, 2 * MAX_LIFETIME).map(lambda ahead: str(int(time.time()) + ahead)),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@given(exp=any_exp, sub=st.one_of(st.just("user-1"), st.text(max_size=300)))
def test_only_a_numeric_exp_within_the_lifetime_and_a_real_sub_are_accepted(
    exp: object, sub: str
) -> None:
    now = time.time()
    if _numeric(exp):  # keep clear of the two edges, which the clock moves
        assume(math.isnan(exp) or min(abs(exp - now), abs(exp - now - MAX_LIFETIME)) > 5)
    token = signed(exp=exp, sub=sub)
    in_lifetime = _numeric(exp) and now < exp < now + MAX_LIFETIME
    # A NUL cannot be stored (shared.rules.storable): such a sub is refused like a blank one.
    if in_lifetime and sub.strip() and len(sub) <= 255 and "\x00" not in sub:
        assert decode_token(token, get_settings()).principal.sub == sub
        return
    with pytest.raises(ApiError) as raised:
        decode_token(token, get_settings())
    assert raised.value.status == 401 and raised.value.message in FIXED_MESSAGES


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": 1e30, "sub": "u"}, "The token's lifetime is longer than this service accepts."),
        ({"exp": "9999999999", "sub": "u"}, "The token is not valid."),
        ({"exp": 9999999999, "sub": ""}, "The token is not valid."),
        (
            {"exp": 9999999999, "sub": "u"},
            "The token's lifetime is longer than this service accepts.",
        ),
    ],
    ids=["exp-1e30", "exp-as-string", "empty-sub", "exp-far-ahead"],
)
def test_the_probes_findings_are_refused_with_a_fixed_message(
    claims: dict[str, object], message: str
) -> None:
    with pytest.raises(ApiError) as raised:
        decode_token(signed(**claims), get_settings())
    assert raised.value.message == message


def test_a_library_error_text_is_not_echoed() -> None:
    header_only = "eyJhbGciOiJIUzI1NiJ9.bm90LWpzb24.c2ln"
    with pytest.raises(ApiError) as raised:
        decode_token(header_only, get_settings())
    assert raised.value.message == "The token is not valid."


class TestIssuerAndAudienceWhenConfigured:
    @pytest.fixture(autouse=True)
    def configured(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        monkeypatch.setenv("AUTH_JWT_ISSUER", "https://idp.example")
        monkeypatch.setenv("AUTH_JWT_AUDIENCE", "caller-number-registry")
        get_settings.cache_clear()
        yield
        monkeypatch.undo()
        get_settings.cache_clear()

    def test_a_token_minted_for_them_is_accepted(self) -> None:
        token = mint(sub="u", role="tenant_admin", tenant_id="t")
        assert decode_token(token, get_settings()).tenant_id == "t"

    @pytest.mark.parametrize(
        "claims",
        [
            {"iss": "https://idp.example"},
            {"aud": "caller-number-registry"},
            {"iss": "https://other.example", "aud": "caller-number-registry"},
            {"iss": "https://idp.example", "aud": "another-service"},
        ],
        ids=["no-aud", "no-iss", "other-iss", "other-aud"],
    )
    def test_a_token_for_another_issuer_or_audience_is_refused(
        self, claims: dict[str, object]
    ) -> None:
        with pytest.raises(ApiError) as raised:
            decode_token(signed(sub="u", exp=int(time.time()) + 60, **claims), get_settings())
        assert raised.value.message == "The token is not valid."
