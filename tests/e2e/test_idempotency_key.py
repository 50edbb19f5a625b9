"""Idempotency-Key on uploads: the caller's own key, for one upload only."""

import httpx
import pytest
from hypothesis import strategies as st

from tests import factories as f
from tests import files
from tests.e2e.test_imports import IMPORTS, import_tenant, upload
from tests.generated import draw_examples

CSV = files.csv(["Caller Number", "5001"])
OTHER_CSV = files.csv(["Caller Number", "5002"])
# What a client may put in the header: visible ASCII, 1 to 200 characters.
keys = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=200)


async def send(
    http: httpx.AsyncClient, headers: dict[str, str], key: str, content: bytes = CSV, **form: str
) -> httpx.Response:
    # The same file again is a duplicate on purpose here: confirmed, so the key alone decides.
    return await http.post(
        IMPORTS,
        files={"file": ("n.csv", content)},
        data={"confirm_duplicate": "true", **form},
        headers={**headers, "Idempotency-Key": key},
    )


class TestIdempotencyKey:
    async def test_generated_keys_return_the_same_task_to_the_same_caller_only(
        self, http: httpx.AsyncClient
    ) -> None:
        """The kind: any key, sent again by its caller, by another user, with another file."""
        tenant, admin = await import_tenant(http)
        other_admin = f.tenant_admin(tenant)
        for key in draw_examples(keys, 8):
            first = await send(http, admin, key)
            assert first.status_code == 202, first.text
            again = await send(http, admin, key)
            assert (again.status_code, again.json()["id"]) == (202, first.json()["id"])
            someone_else = await send(http, other_admin, key)
            assert (
                someone_else.status_code == 202 and someone_else.json()["id"] != first.json()["id"]
            )
            reused = await send(http, admin, key, OTHER_CSV)
            assert reused.status_code == 422
            assert reused.json()["error"]["code"] == "idempotency_key_reused"

    async def test_an_agent_reusing_an_admins_key_gets_a_task_of_its_own(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(
            http, isolation=True, org_units=[("sales", None), ("hr", None)]
        )
        admin, agent = f.tenant_admin(tenant), f.agent(tenant, org_unit_id="sales")
        theirs = await send(http, admin, "batch-1", org_unit_id="hr", description="secret")
        mine = await send(http, agent, "batch-1", OTHER_CSV, org_unit_id="sales")
        assert mine.status_code == 202, mine.text
        assert mine.json()["id"] != theirs.json()["id"]
        assert (mine.json()["org_unit_id"], mine.json()["description"]) == ("sales", "")

    async def test_the_same_key_with_another_ou_is_reused(self, http: httpx.AsyncClient) -> None:
        _, admin = await import_tenant(http, org_units=[("sales", None)])
        await send(http, admin, "k1")
        response = await send(http, admin, "k1", org_unit_id="sales")
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "idempotency_key_reused"

    @pytest.mark.parametrize("key", ["", "k" * 201], ids=["empty", "201-chars"])
    async def test_an_empty_or_over_long_key_is_a_400(
        self, http: httpx.AsyncClient, key: str
    ) -> None:
        _, admin = await import_tenant(http)
        response = await send(http, admin, key)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_idempotency_key"
        assert (await http.get(IMPORTS, headers=admin)).json()["total"] == 0

    async def test_a_key_of_200_characters_is_accepted(self, http: httpx.AsyncClient) -> None:
        _, admin = await import_tenant(http)
        task = await upload(http, {**admin, "Idempotency-Key": "k" * 200}, CSV, name="n.csv")
        assert task["status"] in {"pending", "running"}
