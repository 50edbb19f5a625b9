"""The upload form's OU: empty means Unorganized, as in the add form and on Kafka."""

import httpx
import pytest

from tests import factories as f
from tests import files
from tests.e2e.test_imports import IMPORTS, finished, import_tenant, upload


class TestTheUploadFormsOrgUnit:
    @pytest.mark.parametrize("fields", [{}, {"org_unit_id": ""}, {"org_unit_id": "  "}])
    async def test_an_empty_or_missing_ou_imports_into_unorganized(
        self, http: httpx.AsyncClient, fields: dict[str, str]
    ) -> None:
        _, admin = await import_tenant(http, org_units=[("sales", None)])
        task = await upload(
            http, admin, files.csv(["Caller Number", "7001"]), name="n.csv", **fields
        )
        assert task["org_unit_id"] is None
        done = await finished(http, admin, task["id"])
        assert done["counters"]["succeeded"] == 1
        listed = await http.get("/api/v1/caller-numbers?unorganized=true", headers=admin)
        assert [i["number"] for i in listed.json()["items"]] == ["7001"]

    async def test_a_nul_in_the_ou_field_is_a_422_not_a_500(self, http: httpx.AsyncClient) -> None:
        _, admin = await import_tenant(http)
        response = await http.post(
            IMPORTS,
            files={"file": ("n.csv", files.csv(["Caller Number", "7002"]))},
            data={"org_unit_id": "sales\x00"},
            headers=admin,
        )
        assert response.status_code == 422, response.text
        assert "NUL" in response.json()["error"]["message"]

    async def test_an_agent_who_may_not_use_unorganized_is_refused_an_empty_ou(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, isolation=True, org_units=[("sales", None)])
        response = await http.post(
            IMPORTS,
            files={"file": ("n.csv", files.csv(["Caller Number", "7003"]))},
            data={"org_unit_id": ""},
            headers=f.agent(tenant, org_unit_id="sales"),
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden_org_unit"
