"""Bulk move and bulk delete from the list in a real browser: page selection, all matching,
confirmation, per-number outcomes."""

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests import factories as f
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


class TestBulkActions:
    async def test_ten_selected_numbers_move_to_another_ou_at_once(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None), ("support", None)])
        admin = f.tenant_admin(tenant)
        numbers = [f"0661{n:04d}" for n in range(25)]
        await f.add_numbers(http, admin, numbers, org_unit_id="sales")
        await sign_in(page, gateway, admin)
        await page.get_by_role("columnheader", name="Caller number").get_by_role("button").click()
        await expect(page.locator('#numbers td[data-label="Caller number"]').first).to_have_text(
            numbers[0]
        )
        for number in numbers[:10]:
            await page.get_by_role("checkbox", name=f"Select {number}").check()
        await expect(page.locator("#selection-text")).to_have_text("10 numbers selected.")
        await page.get_by_role("combobox", name="Move selected to").select_option("OU support")
        await screenshot(page, "bulk-selected")
        await page.get_by_role("button", name="Move", exact=True).click()
        dialog = page.get_by_role("dialog", name="Move 10 caller numbers to OU support?")
        await dialog.get_by_role("button", name="Move").click()

        result = page.locator("#bulk-result")
        await expect(result).to_contain_text("10 moved, 0 not moved.")
        await expect(result).to_be_focused()
        await expect(page.locator("#selection-text")).to_have_text("No numbers selected.")
        listed = await http.get(
            "/api/v1/caller-numbers?org_unit_id=support&sort=number", headers=admin
        )
        assert [item["number"] for item in listed.json()["items"]] == numbers[:10]

    async def test_all_matching_across_pages_are_deleted_with_confirmation(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, [f"0771{n:04d}" for n in range(45)])
        await f.add_numbers(http, admin, ["0999"])
        await sign_in(page, gateway, admin)
        await page.get_by_role("textbox", name="Number starts with").fill("0771")
        await page.get_by_role("button", name="Search").click()
        await expect(page.locator("#page-info")).to_have_text("1 to 20 of 45 · page 1 of 3")
        await page.get_by_role("checkbox", name="Select every number on this page").check()
        await expect(page.locator("#selection-text")).to_have_text("20 numbers selected.")
        await page.get_by_role("button", name="Select all 45 matching numbers").click()
        await expect(page.locator("#selection-text")).to_have_text(
            "All 45 matching numbers selected."
        )
        await page.get_by_role("button", name="Delete selected").click()
        dialog = page.get_by_role("dialog", name="Delete 45 caller numbers?")
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(page.get_by_role("button", name="Delete selected")).to_be_focused()
        await page.get_by_role("button", name="Delete selected").click()
        await dialog.get_by_role("button", name="Delete").click()
        await expect(page.locator("#bulk-result")).to_contain_text("45 deleted, 0 not deleted.")
        await expect(page.locator("#page-info")).to_have_text("No caller numbers found.")
        left = await http.get("/api/v1/caller-numbers", headers=admin)
        assert [item["number"] for item in left.json()["items"]] == ["0999"]

    async def test_numbers_that_could_not_be_moved_are_named_with_the_reason(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["0881", "0882"])
        await sign_in(page, gateway, admin)
        await page.get_by_role("checkbox", name="Select 0881").check()
        await page.get_by_role("checkbox", name="Select 0882").check()
        await http.delete(  # someone else deletes one meanwhile
            f"/api/v1/caller-numbers/{await _id_of(http, admin, '0882')}",
            headers={**admin, "Prefer": "wait=10"},
        )
        await page.get_by_role("combobox", name="Move selected to").select_option("OU sales")
        await page.get_by_role("button", name="Move", exact=True).click()
        await page.get_by_role("dialog").get_by_role("button", name="Move").click()
        result = page.locator("#bulk-result")
        await expect(result).to_contain_text("1 moved, 1 not moved.")
        await expect(result).to_contain_text(re.compile("0882: No such caller number"))

    async def test_an_agent_without_edit_or_delete_gets_no_selection(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        await f.add_numbers(http, f.tenant_admin(tenant), ["0991"])
        await sign_in(page, gateway, f.agent(tenant, permissions=["caller_number:add"]))
        await expect(page.locator("#numbers tr")).to_have_count(1)
        await expect(page.get_by_role("checkbox", name=re.compile("^Select"))).to_have_count(0)
        await expect(page.locator("#bulk-bar")).to_be_hidden()


async def _id_of(http: httpx.AsyncClient, headers: dict[str, str], number: str) -> str:
    listed = await http.get(f"/api/v1/caller-numbers?prefix={number}", headers=headers)
    return str(listed.json()["items"][0]["id"])
