"""A token claim PostgreSQL cannot hold makes the token invalid (401), never a 500 later."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api_gateway.auth import decode_token
from services.api_gateway.errors import ApiError
from services.api_gateway.mint_token import mint
from shared.settings import get_settings
from tests.generated import unstorable_text

CLAIMS = ["sub", "tenant_id", "org_unit_id"]


@given(claim=st.sampled_from(CLAIMS), bad=unstorable_text)
def test_generated_claims_with_nul_or_lone_surrogates_are_unauthorized(
    claim: str, bad: str
) -> None:
    fields = {"sub": "u1", "role": "agent", "tenant_id": "t1", claim: bad}
    with pytest.raises(ApiError) as raised:
        decode_token(mint(**fields), get_settings())
    assert raised.value.status == 401


def test_a_nul_in_the_tenant_claim_is_unauthorized() -> None:
    with pytest.raises(ApiError) as raised:
        decode_token(mint(sub="u1", role="tenant_admin", tenant_id="acme\x00"), get_settings())
    # The fixed text of every refused token: the validation error is logged, never echoed.
    assert raised.value.status == 401 and raised.value.message == "The token is not valid."
