"""An ending session in a real browser: the warning, and a fresh token pasted in place."""

import re
from datetime import timedelta

import httpx
import pytest
from playwright.async_api import Page, expect

from services.api_gateway.mint_token import mint
from tests import factories as f
from tests.browser.conftest import paste, screenshot, sign_in

pytestmark = pytest.mark.browser


def admin_for(tenant: str, ttl: timedelta) -> dict[str, str]:
    return f.bearer(mint(sub=f.unique("admin"), role="tenant_admin", tenant_id=tenant, ttl=ttl))


class TestSessionExpiry:
    async def test_a_warning_comes_before_expiry_and_a_fresh_token_keeps_the_form(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        await sign_in(page, gateway, admin_for(tenant, timedelta(minutes=4)))
        warning = page.locator("#session-warning")
        await expect(warning).to_contain_text("Your session ends at")
        await page.get_by_role("link", name="Add Caller Number").click()
        await paste(page, page.get_by_role("textbox", name="Caller number 1"), "6001\n6002")
        await page.get_by_role("combobox", name="Organization unit").select_option("OU sales")

        await warning.get_by_role("button", name="Paste a fresh token").click()
        dialog = page.get_by_role("dialog", name="Paste a fresh token")
        fresh = dialog.get_by_role("textbox", name="Fresh token (JWT)")
        await fresh.fill("not a token")
        await dialog.get_by_role("button", name="Use this token").click()
        await expect(dialog.get_by_role("alert")).to_contain_text("That is not a token")
        other = await f.create_tenant(http)
        await fresh.fill(f.tenant_admin(other)["Authorization"].split()[1])
        await dialog.get_by_role("button", name="Use this token").click()
        await expect(dialog.get_by_role("alert")).to_contain_text(
            f"That token is for tenant {other}"
        )
        await screenshot(page, "session-renew")
        await fresh.fill(f.tenant_admin(tenant)["Authorization"].split()[1])
        await dialog.get_by_role("button", name="Use this token").click()

        await expect(dialog).to_be_hidden()
        await expect(warning).to_be_hidden()
        await expect(page.locator("#session-status")).to_contain_text("Session renewed until")
        await expect(page.get_by_role("textbox", name="Caller number 2")).to_have_value("6002")
        await expect(page.get_by_role("combobox", name="Organization unit")).to_have_value("sales")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#add-status")).to_contain_text("2 added, 0 not added.")

    async def test_a_save_after_expiry_asks_for_a_fresh_token_and_then_goes_through(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await sign_in(page, gateway, admin_for(tenant, timedelta(seconds=8)))
        await page.get_by_role("link", name="Add Caller Number").click()
        await page.get_by_role("textbox", name="Caller number 1").fill("6101")
        await expect(page.locator("#session-warning")).to_contain_text(
            re.compile("Your session ended at"), timeout=30_000
        )
        await page.get_by_role("button", name="Save").click()
        dialog = page.get_by_role("dialog", name="Paste a fresh token")
        await expect(dialog).to_contain_text("Your session has ended")
        await dialog.get_by_role("textbox", name="Fresh token (JWT)").fill(
            admin["Authorization"].split()[1]
        )
        await dialog.get_by_role("button", name="Use this token").click()
        await expect(dialog).to_be_hidden()
        await expect(page.get_by_role("textbox", name="Caller number 1")).to_have_value("6101")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#add-status")).to_contain_text("1 added, 0 not added.")
