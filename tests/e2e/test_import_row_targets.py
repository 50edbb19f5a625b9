"""Import files with the optional Organization Unit and Description columns, end to end on real
Kafka and PostgreSQL: each row lands in its own OU, checked on its own, and the report says so."""

from typing import Any

import httpx

from tests import factories as f
from tests import files
from tests.e2e.test_imports import finished, import_tenant, report, upload

FULL = ("Caller Number", "Organization Unit", "Description")


async def numbers_by_ou(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await http.get("/api/v1/caller-numbers?limit=100", headers=headers)
    assert response.status_code == 200, response.text
    return {n["number"]: (n["org_unit_id"], n["description"]) for n in response.json()["items"]}


class TestRowTargets:
    async def test_each_row_goes_to_its_own_ou_by_id_or_path_and_the_report_shows_it(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http, org_units=[("s", None), ("sn", "s"), ("m", None)])
        rows = [
            ("0201", "OU s / OU sn", "north desk"),
            ("0202", "m", None),
            ("0203", None, None),
            ("0204", "OU s / nowhere", "x"),
            ("0205", "sn", "y" * 256),
        ]
        data = files.table_by_xlsxwriter(rows, header=FULL)
        task = await upload(http, admin, data, org_unit_id="s", description="spring")
        done = await finished(http, admin, task["id"])
        assert done["counters"]["succeeded"] == 3 and done["counters"]["failed"] == 2
        assert await numbers_by_ou(http, admin) == {
            "0201": ("sn", "north desk"),
            "0202": ("m", "spring"),
            "0203": ("s", "spring"),
        }
        lines = await report(http, admin, task["id"])
        assert lines[0] == (
            "Row",
            "Caller Number",
            "Result",
            "Reason",
            "Organization Unit",
            "Description",
        )
        assert [line[4:] for line in lines[1:4]] == [
            ("OU s / OU sn", "north desk"),
            ("OU m", "spring"),
            ("OU s", "spring"),
        ]
        assert lines[4][2] == "failure" and "'OU s / nowhere'" in lines[4][3]
        assert lines[4][4] == "OU s / nowhere"
        assert lines[5][2:4] == ("failure", "The description has at most 255 characters.")

    async def test_an_agent_row_outside_its_ous_fails_alone(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http, isolation=True, org_units=[("a", None), ("b", None)])
        agent = f.agent(tenant, org_unit_id="a")
        data = files.table([("0301", "a", None), ("0302", "b", None)], header=FULL)
        task = await upload(http, agent, data, org_unit_id="a")
        done = await finished(http, agent, task["id"])
        assert (done["counters"]["succeeded"], done["counters"]["failed"]) == (1, 1)
        lines = await report(http, f.tenant_admin(tenant), task["id"])
        assert (lines[2][2], lines[2][3]) == ("failure", "You may not use this organization unit.")

    async def test_an_unrecognised_column_fails_the_task_naming_it(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        data = files.table([("0401", "x")], header=("Caller Number", "Notes"))
        done = await finished(http, admin, (await upload(http, admin, data))["id"])
        assert done["status"] == "failed" and done["error_code"] == "unexpected_columns"
        assert "'Notes'" in done["error_message"]
