"""The list's number search takes a number as people write it and matches its digits."""

import re
from urllib.parse import quote

import httpx

from tests import factories as f
from tests.generated import draw_examples, not_numbers, typed_numbers

STORED = ["8613800138000", "02150001234", "4008123456", "861390000"]


async def _search(http: httpx.AsyncClient, admin: dict[str, str], typed: str) -> httpx.Response:
    return await http.get(f"/api/v1/caller-numbers?prefix={quote(typed)}", headers=admin)


class TestSearchAsTyped:
    async def test_generated_numbers_as_people_write_them_match_on_their_digits(
        self, http: httpx.AsyncClient
    ) -> None:
        """The kind: digits mixed with spaces, dashes, dots, parentheses and a leading +."""
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, STORED)
        typed_examples = [
            "+86 138",
            "021-5000",
            "(021) 5000.12",
            " 400 812 ",
            *draw_examples(typed_numbers),
        ]
        for typed in typed_examples:
            response = await _search(http, admin, typed)
            assert response.status_code == 200, (typed, response.text)
            digits = re.sub(r"\D", "", typed)
            expected = sorted(n for n in STORED if n.startswith(digits))
            assert sorted(i["number"] for i in response.json()["items"]) == expected, typed

    async def test_generated_text_that_is_no_number_is_a_422_with_the_reason(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        for typed in ["12a", "86+138", "1\u00002", "1" * 25, *draw_examples(not_numbers)]:
            response = await _search(http, admin, typed)
            assert response.status_code == 422, (typed, response.text)
            [detail] = response.json()["error"]["details"]
            assert detail["loc"] == ["query", "prefix"]
            reasons = ("digits, spaces, dashes", "text holds", "at most 24 digits")
            assert any(reason in detail["message"] for reason in reasons), detail

    async def test_a_nul_in_the_ou_filter_is_a_422_not_a_500(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        response = await http.get(
            "/api/v1/caller-numbers?org_unit_id=sales%00", headers=f.tenant_admin(tenant)
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["loc"] == ["query", "org_unit_id"]
