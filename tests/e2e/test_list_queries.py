"""The list's query features on real PostgreSQL through the gateway: sort, contains, sub-OUs,
total count, hostile parameters, and the export as CSV and xlsx."""

import csv
import io
from datetime import datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from tests import factories as f

ORDERS = ["number", "-number", "org_unit", "-org_unit", "created_at", "-created_at"]
# sales ─ sales-east ─ sales-east-1; support. OU names are "OU <id>".
TREE = [("sales", None), ("sales-east", "sales"), ("sales-east-1", "sales-east"), ("support", None)]


async def listed(http: httpx.AsyncClient, headers: dict[str, str], query: str) -> dict[str, Any]:
    response = await http.get(f"/api/v1/caller-numbers?{query}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def all_pages(
    http: httpx.AsyncClient, headers: dict[str, str], query: str, limit: int
) -> list[str]:
    numbers: list[str] = []
    while True:
        page = await listed(http, headers, f"{query}&limit={limit}&offset={len(numbers)}")
        numbers += [item["number"] for item in page["items"]]
        if not page["items"]:
            return numbers


@pytest.fixture
async def tenant(http: httpx.AsyncClient) -> str:
    """Seven numbers added in three commands (so three creation times), in four OUs."""
    tenant = await f.create_tenant(http, org_units=TREE)
    admin = f.tenant_admin(tenant)
    await f.add_numbers(http, admin, ["5550003", "0100555"], org_unit_id="support")
    await f.add_numbers(http, admin, ["7000001", "5551111"])
    await f.add_numbers(http, admin, ["2000555"], org_unit_id="sales")
    await f.add_numbers(http, admin, ["3000000", "9555"], org_unit_id="sales-east-1")
    return tenant


def expected_order(items: list[dict[str, Any]], sort: str) -> list[str]:
    """The documented order computed in Python."""
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    by_number = sorted(items, key=lambda item: item["number"])
    if key == "number":
        return [i["number"] for i in (by_number[::-1] if descending else by_number)]
    if key == "org_unit":  # by name; Unorganized (no name) first ascending, last descending
        ordered = sorted(
            by_number,
            key=lambda i: (i["org_unit_id"] is not None, f"OU {i['org_unit_id']}"),
            reverse=descending,
        )
        # reverse=True also reversed the number tie-break: restore it within each OU.
        groups: dict[str | None, list[str]] = {}
        for item in ordered:
            groups.setdefault(item["org_unit_id"], []).append(item["number"])
        return [n for numbers in groups.values() for n in sorted(numbers)]
    return _by_creation(items, descending)


def _by_creation(items: list[dict[str, Any]], descending: bool) -> list[str]:
    by_id = sorted(items, key=lambda i: i["id"], reverse=not descending)
    # By creation time, ties by id (PostgreSQL orders uuids as their canonical text sorts).
    ordered = sorted(
        by_id, key=lambda i: datetime.fromisoformat(i["created_at"]), reverse=descending
    )
    return [i["number"] for i in ordered]


class TestSorting:
    @pytest.mark.parametrize("sort", ORDERS)
    @pytest.mark.parametrize("limit", [1, 3, 7])
    async def test_every_order_pages_through_every_number_once_in_that_order(
        self, http: httpx.AsyncClient, tenant: str, sort: str, limit: int
    ) -> None:
        admin = f.tenant_admin(tenant)
        everything = (await listed(http, admin, "limit=100"))["items"]
        assert len(everything) == 7
        numbers = await all_pages(http, admin, f"sort={sort}", limit)
        assert numbers == expected_order(everything, sort)

    async def test_the_default_is_newest_first(self, http: httpx.AsyncClient, tenant: str) -> None:
        admin = f.tenant_admin(tenant)
        everything = (await listed(http, admin, "limit=100"))["items"]
        page = await listed(http, admin, "limit=2")
        assert {item["number"] for item in page["items"]} == {"3000000", "9555"}  # the last add
        assert [item["number"] for item in page["items"]] == _by_creation(everything, True)[:2]


class TestFilters:
    async def test_contains_finds_digits_anywhere_and_combines_with_prefix(
        self, http: httpx.AsyncClient, tenant: str
    ) -> None:
        admin = f.tenant_admin(tenant)
        found = await listed(http, admin, "contains=555&sort=number")
        assert [i["number"] for i in found["items"]] == [
            "0100555",
            "2000555",
            "5550003",
            "5551111",
            "9555",
        ]
        assert found["total"] == 5
        both = await listed(http, admin, "contains=555&prefix=5&sort=number")
        assert [i["number"] for i in both["items"]] == ["5550003", "5551111"]

    async def test_include_sub_units_takes_the_whole_subtree_and_nothing_beside_it(
        self, http: httpx.AsyncClient, tenant: str
    ) -> None:
        admin = f.tenant_admin(tenant)
        only = await listed(http, admin, "org_unit_id=sales&sort=number")
        assert [i["number"] for i in only["items"]] == ["2000555"]
        subtree = await listed(http, admin, "org_unit_id=sales&include_sub_units=true&sort=number")
        assert [i["number"] for i in subtree["items"]] == ["2000555", "3000000", "9555"]
        leaf = await listed(http, admin, "org_unit_id=sales-east-1&include_sub_units=true")
        assert leaf["total"] == 2

    async def test_an_agent_with_isolation_never_sees_past_their_scope_with_sub_units(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, isolation=True, org_units=TREE)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["1"], org_unit_id="sales")
        await f.add_numbers(http, admin, ["2"], org_unit_id="sales-east-1")
        await f.add_numbers(http, admin, ["3"], org_unit_id="support")
        agent = f.agent(tenant, org_unit_id="sales-east")
        seen = await listed(http, agent, "org_unit_id=sales&include_sub_units=true")
        assert [i["number"] for i in seen["items"]] == ["2"]  # not sales itself
        assert (await listed(http, agent, "org_unit_id=support&include_sub_units=true"))[
            "total"
        ] == 0

    async def test_the_total_is_given_even_past_the_last_page(
        self, http: httpx.AsyncClient, tenant: str
    ) -> None:
        page = await listed(http, f.tenant_admin(tenant), "limit=20&offset=100")
        assert page["items"] == [] and page["total"] == 7


class TestHostileQueries:
    @pytest.mark.parametrize(
        "query",
        [
            "sort=password",
            "sort=number;DROP TABLE caller_number",
            "sort=c.number",
            "sort=",
            "limit=0",
            "limit=501",
            "limit=abc",
            "offset=10000001",
            "contains=12a",
            "contains=%25",
            "contains=" + "1" * 25,
            "prefix=_",
            "include_sub_units=maybe",
        ],
    )
    async def test_a_bad_parameter_is_a_422_with_the_field_named(
        self, http: httpx.AsyncClient, query: str
    ) -> None:
        tenant = await f.create_tenant(http)
        for path in ("/api/v1/caller-numbers", "/api/v1/caller-numbers/export"):
            response = await http.get(f"{path}?{query}", headers=f.tenant_admin(tenant))
            if query.startswith(("limit", "offset")) and path.endswith("export"):
                continue  # the export has no pages
            assert response.status_code == 422, (path, response.text)
            error = response.json()["error"]
            assert error["code"] == "validation_error"
            assert error["details"][0]["loc"][-1] == query.split("=")[0]

    async def test_an_unknown_export_format_is_refused(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http)
        response = await http.get(
            "/api/v1/caller-numbers/export?format=pdf", headers=f.tenant_admin(tenant)
        )
        assert response.status_code == 422


class TestExport:
    async def test_csv_holds_the_filtered_list_in_its_order_and_no_formula(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["0021", "0022"], description='=HYPERLINK("x")')
        await f.add_numbers(http, admin, ["0031"], org_unit_id="sales", description="@SUM(A1)")
        await f.add_numbers(http, admin, ["9999"], description="left out")
        response = await http.get(
            "/api/v1/caller-numbers/export?format=csv&prefix=00&sort=-number", headers=admin
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        assert response.content.startswith(b"\xef\xbb\xbf")
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert lines[0] == [
            "Caller Number",
            "Organization Unit",
            "Organization Unit ID",
            "Description",
            "Created",
        ]
        assert [line[:4] for line in lines[1:]] == [
            ["0031", "OU sales", "sales", "'@SUM(A1)"],
            ["0022", "Unorganized", "", '\'=HYPERLINK("x")'],
            ["0021", "Unorganized", "", '\'=HYPERLINK("x")'],
        ]

    async def test_xlsx_holds_text_cells_only_with_leading_zeros_kept(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["000123", "4567"], description="=1+2")
        response = await http.get(
            "/api/v1/caller-numbers/export?format=xlsx&sort=number", headers=admin
        )
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(min_row=2))
        assert [row[0].value for row in rows] == ["000123", "4567"]
        assert {cell.data_type for row in rows for cell in row} == {"s"}  # never "f"
        assert rows[0][3].value == "=1+2"

    async def test_an_agent_exports_only_what_they_may_see(self, http: httpx.AsyncClient) -> None:
        tenant = await f.create_tenant(http, isolation=True, org_units=TREE)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["1"], org_unit_id="sales")
        await f.add_numbers(http, admin, ["2"], org_unit_id="support")
        await f.add_numbers(http, admin, ["3"])
        agent = f.agent(tenant, org_unit_id="sales")
        response = await http.get("/api/v1/caller-numbers/export", headers=agent)
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert [line[0] for line in lines[1:]] == ["1"]

    async def test_an_xlsx_past_the_row_limit_is_refused_and_csv_still_exports(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, [f"61{n:03d}" for n in range(51)])  # the limit is 50
        xlsx = await http.get("/api/v1/caller-numbers/export?format=xlsx", headers=admin)
        assert xlsx.status_code == 422
        assert xlsx.json()["error"]["code"] == "export_too_large"
        assert "51 numbers do not fit" in xlsx.json()["error"]["message"]
        narrowed = await http.get(
            "/api/v1/caller-numbers/export?format=xlsx&prefix=6100", headers=admin
        )
        assert narrowed.status_code == 200  # filters bring it under the limit
        exported = await http.get("/api/v1/caller-numbers/export?format=csv", headers=admin)
        assert len(exported.content.decode("utf-8-sig").splitlines()) == 52
