"""The list in a real browser: page size, sort, contains, sub-OUs, pages, the URL, export;
and where the keyboard lands after edit, delete and their cancels."""

import csv
import io
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import Page, Route, expect

from tests import factories as f
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


async def seeded(http: httpx.AsyncClient, count: int) -> tuple[str, dict[str, str]]:
    """A tenant with `count` numbers 0770000000.. in Unorganized, added 100 at a time."""
    tenant = await f.create_tenant(http, org_units=[("sales", None), ("sales-east", "sales")])
    admin = f.tenant_admin(tenant)
    numbers = [f"0770{n:06d}" for n in range(count)]
    for start in range(0, count, 100):
        await f.add_numbers(http, admin, numbers[start : start + 100])
    return tenant, admin


class TestAListThatScales:
    async def test_page_size_first_last_and_jump_with_the_total(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        _, admin = await seeded(http, 230)
        await sign_in(page, gateway, admin)
        pages = page.locator("#page-info")
        await expect(pages).to_have_text("1 to 20 of 230 · page 1 of 12")
        await page.get_by_role("combobox", name="Per page").select_option("50")
        await expect(pages).to_have_text("1 to 50 of 230 · page 1 of 5")
        await expect(page.locator("#numbers tr")).to_have_count(50)
        await page.get_by_role("button", name="Last").click()
        await expect(pages).to_have_text("201 to 230 of 230 · page 5 of 5")
        await expect(page.get_by_role("button", name="Next")).to_be_disabled()
        await page.get_by_role("spinbutton", name="Go to page").fill("3")
        await page.get_by_role("button", name="Go", exact=True).click()
        await expect(pages).to_have_text("101 to 150 of 230 · page 3 of 5")
        await page.get_by_role("button", name="First").click()
        await expect(pages).to_have_text("1 to 50 of 230 · page 1 of 5")

    async def test_sorting_is_done_by_the_server_and_announced_with_aria_sort(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("alpha", None), ("beta", None)])
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["300"], org_unit_id="beta")
        await f.add_numbers(http, admin, ["100"], org_unit_id="alpha")
        await f.add_numbers(http, admin, ["200"])
        await sign_in(page, gateway, admin)
        first_column = page.locator('#numbers td[data-label="Caller number"]')
        await expect(first_column).to_have_text(["200", "100", "300"])  # newest first
        created = page.get_by_role("columnheader", name="Created")
        await expect(created).to_have_attribute("aria-sort", "descending")

        number = page.get_by_role("columnheader", name="Caller number")
        await number.get_by_role("button").click()
        await expect(number).to_have_attribute("aria-sort", "ascending")
        await expect(created).not_to_have_attribute("aria-sort", "descending")
        await expect(first_column).to_have_text(["100", "200", "300"])
        await number.get_by_role("button").click()
        await expect(number).to_have_attribute("aria-sort", "descending")
        await expect(first_column).to_have_text(["300", "200", "100"])

        ou = page.get_by_role("columnheader", name="OU")
        await ou.get_by_role("button").click()
        await expect(ou).to_have_attribute("aria-sort", "ascending")
        await expect(first_column).to_have_text(["200", "100", "300"])  # Unorganized, alpha, beta
        await screenshot(page, "numbers-sorted")

    async def test_contains_search_and_sub_ous_and_the_state_in_the_url_survive_a_reload(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None), ("sales-east", "sales")])
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["1555", "2555"], org_unit_id="sales-east")
        await f.add_numbers(http, admin, ["3555"], org_unit_id="sales")
        await f.add_numbers(http, admin, ["4555", "5000"])
        await sign_in(page, gateway, admin)
        await page.get_by_role("textbox", name="Number contains").fill("55")
        await page.get_by_role("combobox", name="Organization unit").select_option("OU sales")
        await page.get_by_role("button", name="Search").click()
        rows = page.locator("#numbers tr")
        await expect(rows).to_have_count(1)
        await page.get_by_role("checkbox", name="Include sub-OUs").check()
        await page.get_by_role("columnheader", name="Caller number").get_by_role("button").click()
        await page.get_by_role("button", name="Search").click()
        await expect(page.locator('#numbers td[data-label="Caller number"]')).to_have_text(
            ["1555", "2555", "3555"]
        )
        assert "contains=55" in page.url and "sub=1" in page.url and "sort=number" in page.url

        await page.reload()
        await expect(page.locator('#numbers td[data-label="Caller number"]')).to_have_text(
            ["1555", "2555", "3555"]
        )
        await expect(page.get_by_role("textbox", name="Number contains")).to_have_value("55")
        await expect(page.get_by_role("checkbox", name="Include sub-OUs")).to_be_checked()
        await page.go_back()  # before the sub-OUs: only sales itself
        await expect(rows).to_have_count(1)

    async def test_export_gives_the_filtered_list_as_csv_and_xlsx_without_formulas(
        self, page: Page, gateway: str, http: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["0011", "0012"], description="=cmd|'/c calc'!A1")
        await f.add_numbers(http, admin, ["9999"])
        await sign_in(page, gateway, admin)
        await page.get_by_role("textbox", name="Number starts with").fill("00")
        await page.get_by_role("button", name="Search").click()
        await expect(page.locator("#numbers tr")).to_have_count(2)
        async with page.expect_download() as csv_download:
            await page.get_by_role("button", name="Export CSV").click()
        path = tmp_path / "list.csv"
        await (await csv_download.value).save_as(path)
        lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
        assert sorted((line[0], line[3]) for line in lines[1:]) == [
            ("0011", "'=cmd|'/c calc'!A1"),
            ("0012", "'=cmd|'/c calc'!A1"),
        ]
        async with page.expect_download() as xlsx_download:
            await page.get_by_role("button", name="Export xlsx").click()
        path = tmp_path / "list.xlsx"
        await (await xlsx_download.value).save_as(path)
        sheet = load_workbook(path).active
        assert sheet is not None
        cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
        assert {cell.data_type for cell in cells} == {"s"}
        assert sorted(row[0].value for row in sheet.iter_rows(min_row=2)) == ["0011", "0012"]

    async def test_a_late_answer_to_an_older_search_never_replaces_the_newer_one(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["1199", "2200", "3300"])
        await sign_in(page, gateway, admin)
        rows = page.locator("#numbers tr")
        await expect(rows).to_have_count(3)
        held: list[Route] = []

        async def hold_the_older(route: Route) -> None:
            if "contains=99" in route.request.url:
                held.append(route)  # answered only after the newer search has drawn
            else:
                await route.continue_()

        await page.route("**/api/v1/caller-numbers?*", hold_the_older)
        contains = page.get_by_role("textbox", name="Number contains")
        await contains.fill("99")
        await page.get_by_role("button", name="Search").click()
        await contains.fill("00")
        await page.get_by_role("button", name="Search").click()
        await expect(rows).to_have_count(2)
        assert len(held) == 1
        async with page.expect_response(lambda r: "contains=99" in r.url) as late:
            await held[0].continue_()
        await (await late.value).finished()
        await page.evaluate("new Promise((drawn) => requestAnimationFrame(() => drawn(0)))")
        await expect(rows).to_have_count(2)
        await expect(page.locator("#page-info")).to_have_text("1 to 2 of 2 · page 1 of 1")


class TestKeyboardFocus:
    async def test_after_edit_save_and_cancel_the_focus_is_back_on_the_rows_edit_button(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["1001", "1002"])
        await sign_in(page, gateway, admin)
        edit = page.get_by_role("button", name="Edit 1001")
        await edit.click()
        await page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
        await expect(edit).to_be_focused()
        await edit.press("Enter")
        await page.keyboard.press("Escape")
        await expect(edit).to_be_focused()
        await edit.click()
        await page.get_by_role("dialog").get_by_role("textbox", name="Description").fill("x")
        await page.get_by_role("dialog").get_by_role("button", name="Save").click()
        await expect(page.locator("#numbers-status")).to_have_text("Saved 1001.")
        await expect(page.get_by_role("button", name="Edit 1001")).to_be_focused()

    async def test_after_delete_the_focus_goes_to_the_next_row_and_after_cancel_stays(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        for number in ["2001", "2002", "2003"]:  # one by one: newest first is 2003, 2002, 2001
            await f.add_numbers(http, admin, [number])
        await sign_in(page, gateway, admin)
        delete = page.get_by_role("button", name="Delete 2002")
        await delete.click()
        dialog = page.get_by_role("dialog", name="Delete caller number 2002?")
        await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # safe first
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(delete).to_be_focused()
        await delete.click()
        await dialog.get_by_role("button", name="Delete").click()
        await expect(page.locator("#numbers-status")).to_have_text("Deleted 2002.")
        await expect(page.get_by_role("button", name="Edit 2001")).to_be_focused()
        await page.get_by_role("button", name="Delete 2001").click()
        await page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        await expect(page.get_by_role("button", name="Edit 2003")).to_be_focused()  # the last
