"""The page's history in the Edit dialog and the tenant's used / allowed caller numbers."""

import httpx
import pytest
from playwright.async_api import Page, expect

from tests import factories as f
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


class TestHistory:
    async def test_the_edit_dialog_shows_who_changed_the_number_when_and_how(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        added = await f.add_numbers(http, admin, ["02150009999"], description="hotline")
        number_id = added["results"][0]["caller_number"]["id"]
        edit = await http.patch(
            f"/api/v1/caller-numbers/{number_id}",
            json={"org_unit_id": "sales", "description": "sales line"},
            headers={**admin, "Prefer": "wait=20"},
        )
        assert edit.status_code == 200, edit.text
        await sign_in(page, gateway, admin)
        await page.get_by_role("button", name="Edit 02150009999").click()
        dialog = page.get_by_role("dialog")
        history = dialog.get_by_role("list", name="History")
        entries = history.get_by_role("listitem")
        await expect(entries).to_have_count(2)
        await expect(entries.nth(0)).to_contain_text("Changed")
        await expect(entries.nth(0)).to_contain_text(
            "Unorganized, “hotline” → OU sales, “sales line”"
        )
        await expect(entries.nth(0)).to_contain_text(f"Command {edit.json()['command_id']}")
        await expect(entries.nth(1)).to_contain_text("Created")
        await expect(entries.nth(1)).to_contain_text("(tenant admin)")
        await screenshot(page, "edit-history")

        # Saving adds the change to the history shown the next time.
        await dialog.get_by_role("textbox", name="Description").fill("night line")
        await dialog.get_by_role("button", name="Save").click()
        await expect(dialog).to_be_hidden()
        await page.get_by_role("button", name="Edit 02150009999").click()
        await expect(entries).to_have_count(3)
        await expect(entries.nth(0)).to_contain_text("“sales line” → OU sales, “night line”")

    async def test_older_changes_come_with_show_older(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        added = await f.add_numbers(http, admin, ["0311"])
        number_id = added["results"][0]["caller_number"]["id"]
        for n in range(21):  # 22 changes: more than one page of 20
            response = await http.patch(
                f"/api/v1/caller-numbers/{number_id}",
                json={"description": f"v{n}"},
                headers={**admin, "Prefer": "wait=20"},
            )
            assert response.status_code == 200
        await sign_in(page, gateway, admin)
        await page.get_by_role("button", name="Edit 0311").click()
        entries = (
            page.get_by_role("dialog").get_by_role("list", name="History").get_by_role("listitem")
        )
        await expect(entries).to_have_count(20)
        await page.get_by_role("button", name="Show older changes").click()
        await expect(entries).to_have_count(22)
        await expect(entries.nth(21)).to_contain_text("Created")
        await expect(page.get_by_role("button", name="Show older changes")).to_be_hidden()


class TestQuota:
    async def test_the_page_shows_used_of_allowed_and_a_number_past_the_quota_stays_with_why(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        response = await http.patch(
            f"/api/v1/admin/tenants/{tenant}",
            json={"max_caller_numbers": 2},
            headers=f.system_admin(),
        )
        assert response.status_code == 200
        await f.add_numbers(http, admin, ["1001"])
        await sign_in(page, gateway, admin)
        usage = page.locator("#usage")
        await expect(usage).to_have_text("Caller numbers: 1 of 2")
        await page.get_by_role("link", name="Add Caller Number").click()
        await page.get_by_role("textbox", name="Caller number 1", exact=True).fill("1002")
        await page.get_by_role("button", name="Add", exact=True).click()
        await page.get_by_role("textbox", name="Caller number 2", exact=True).fill("1003")
        await page.get_by_role("button", name="Save").click()
        await expect(usage).to_have_text("Caller numbers: 2 of 2")
        await expect(page.get_by_role("textbox", name="Caller number 1", exact=True)).to_have_value(
            "1003"
        )
        await expect(page.locator("#add-form")).to_contain_text("quota is reached: 2 of 2")
        await screenshot(page, "quota-reached")

    async def test_without_a_quota_the_count_says_so(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        await sign_in(page, gateway, f.tenant_admin(tenant))
        await expect(page.locator("#usage")).to_have_text("Caller numbers: 0 (no quota)")
