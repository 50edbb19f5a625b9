"""The Access Code page in a real browser: signing in, the list, the add form, rights."""

import re

import httpx
import jwt
import pytest
from playwright.async_api import Locator, Page, expect

from tests import factories as f
from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def number_box(page: Page, position: int) -> Locator:
    return page.get_by_role("textbox", name=f"Caller number {position}", exact=True)


class TestSigningIn:
    async def test_the_page_shows_who_is_signed_in_and_forgets_the_token_on_sign_out(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        await page.goto(gateway)
        forged = jwt.encode({"sub": "x", "role": "tenant_admin"}, "not-our-secret" * 4)
        await page.get_by_label("Access token (JWT)").fill(forged)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("The token is not valid")
        await screenshot(page, "sign-in")

        await sign_in(page, gateway, f.tenant_admin(tenant))
        who = page.locator("#who-text")
        await expect(who).to_contain_text(f"tenant {tenant} · Tenant administrator · OU none")
        await page.reload()  # the token stays for the tab
        await expect(who).to_contain_text(f"tenant {tenant}")
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await page.reload()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


class TestAddingNumbers:
    async def test_three_numbers_of_which_one_is_registered_show_each_outcome(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["02150000002"])
        await sign_in(page, gateway, admin)
        await page.get_by_role("link", name="Add Caller Number").click()
        for position, number in enumerate(["02150000001", "02150000002", "02150000003"], 1):
            if position > 1:
                await page.get_by_role("button", name="Add", exact=True).click()
            await number_box(page, position).fill(number)
        await page.get_by_role("combobox", name="Organization unit").select_option(label="OU sales")
        await page.get_by_role("textbox", name="Description").fill("hotline")
        await page.get_by_role("button", name="Save").click()

        await expect(page.get_by_role("status")).to_contain_text("2 added, 1 not added.")
        # Only the number that failed stays, with its reason; the others were cleared.
        boxes = page.get_by_role("textbox", name=re.compile("^Caller number"))
        await expect(boxes).to_have_count(1)
        await expect(number_box(page, 1)).to_have_value("02150000002")
        await expect(number_box(page, 1)).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_text("The number is already registered")).to_be_visible()
        await screenshot(page, "add")

        await page.get_by_role("link", name="Caller numbers").click()
        rows = page.locator("#numbers tr")
        await expect(rows).to_have_count(3)
        await expect(rows.filter(has_text="02150000001")).to_contain_text("OU sales")
        await expect(rows.filter(has_text="02150000003")).to_contain_text("hotline")

    async def test_malformed_numbers_are_marked_in_their_boxes_and_nothing_is_saved(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await sign_in(page, gateway, admin)
        await page.get_by_role("link", name="Add Caller Number").click()
        for position, number in enumerate(["0755 12a", "1" * 25, "075500001"], 1):
            if position > 1:
                await page.get_by_role("button", name="Add", exact=True).click()
            await number_box(page, position).fill(number)
        await page.get_by_role("button", name="Remove caller number 3").click()
        await page.get_by_role("button", name="Save").click()

        await expect(page.get_by_text("digits 0-9 only")).to_be_visible()
        await expect(page.get_by_text("at most 24 digits")).to_be_visible()
        await expect(number_box(page, 2)).to_have_attribute("aria-invalid", "true")
        listed = await http.get("/api/v1/caller-numbers", headers=admin)
        assert listed.json()["total"] == 0


class TestTheList:
    async def test_search_filter_page_edit_and_delete(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None), ("support", None)])
        admin = f.tenant_admin(tenant)
        numbers = [f"0755{n:04d}" for n in range(20)]
        await f.add_numbers(http, admin, numbers, description="spring campaign")
        await f.add_numbers(
            http, admin, ["02150001234", "02150005678"], org_unit_id="sales", description="hotline"
        )
        await sign_in(page, gateway, admin)
        rows = page.locator("#numbers tr")
        await expect(rows).to_have_count(20)
        await expect(page.get_by_text("1 to 20 of 22")).to_be_visible()
        await screenshot(page, "numbers")
        await page.get_by_role("button", name="Next").click()
        await expect(page.get_by_text("21 to 22 of 22")).to_be_visible()

        await page.get_by_role("textbox", name="Number starts with").fill("0215")
        await page.get_by_role("button", name="Search").click()
        await expect(rows).to_have_count(2)
        await page.get_by_role("combobox", name="Organization unit").select_option("Unorganized")
        await page.get_by_role("textbox", name="Number starts with").fill("")
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_text("1 to 20 of 20")).to_be_visible()

        await page.get_by_role("combobox", name="Organization unit").select_option("OU sales")
        await page.get_by_role("button", name="Search").click()
        await page.get_by_role("button", name="Edit 02150001234").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_role("combobox", name="Organization unit").select_option("OU support")
        await dialog.get_by_role("textbox", name="Description").fill("night line")
        await screenshot(page, "edit")
        await dialog.get_by_role("button", name="Save").click()
        await expect(dialog).to_be_hidden()
        await expect(rows).to_have_count(1)  # moved out of the filtered OU

        await page.get_by_role("button", name="Delete 02150005678").click()
        await expect(dialog).to_contain_text("Delete caller number 02150005678?")
        await dialog.get_by_role("button", name="Delete").click()
        await expect(page.locator("#numbers-status")).to_have_text("Deleted 02150005678.")
        await expect(rows).to_have_count(0)
        edited = await http.get("/api/v1/caller-numbers?prefix=0215", headers=admin)
        assert [(n["org_unit_id"], n["description"]) for n in edited.json()["items"]] == [
            ("support", "night line")
        ]


class TestRights:
    async def test_an_agent_chooses_only_their_org_units_and_has_no_import_without_permission(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(
            http,
            isolation=True,
            org_units=[("sales", None), ("sales-east", "sales"), ("support", None)],
        )
        agent = f.agent(tenant, org_unit_id="sales", permissions=["caller_number:add"])
        await sign_in(page, gateway, agent)
        await expect(page.locator("#who-text")).to_contain_text("Agent · OU sales")
        await expect(page.get_by_role("link", name="Import")).to_have_count(0)
        await expect(page.get_by_role("button", name=re.compile("^(Edit|Delete)"))).to_have_count(0)
        await page.get_by_role("link", name="Add Caller Number").click()
        choices = page.get_by_role("combobox", name="Organization unit").locator("option")
        await expect(choices).to_have_text(["OU sales", "OU sales-east"])
        await screenshot(page, "agent-add")

    async def test_a_write_refused_as_feature_disabled_turns_writes_off_with_the_reason(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        await sign_in(page, gateway, f.tenant_admin(tenant))
        await page.get_by_role("link", name="Add Caller Number").click()
        switched_off = await http.patch(
            f"/api/v1/admin/tenants/{tenant}",
            json={"calling_number_anonymization": False},
            headers=f.system_admin(),
        )
        assert switched_off.status_code == 200
        await number_box(page, 1).fill("4008123456")
        await page.get_by_role("button", name="Save").click()

        banner = page.locator("#writes-off")
        await expect(banner).to_contain_text("Calling Number Anonymization")
        await expect(page.get_by_role("button", name="Save")).to_be_disabled()
        await screenshot(page, "writes-disabled")
        await page.reload()  # known at once from GET /api/v1/me
        await expect(banner).to_contain_text("Calling Number Anonymization")
