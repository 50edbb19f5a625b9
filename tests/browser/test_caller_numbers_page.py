"""The Access Code page in a real browser: signing in, the list, the add form, rights."""

import re

import httpx
import jwt
import pytest
from playwright.async_api import Locator, Page, expect

from tests import factories as f
from tests.browser.conftest import paste, screenshot, sign_in

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

    async def test_a_pasted_non_token_stays_in_the_box_with_the_reason(
        self, page: Page, gateway: str
    ) -> None:
        await page.goto(gateway)
        box = page.get_by_label("Access token (JWT)")
        await box.fill("Bearer hello world")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("That is not a token")
        await expect(box).to_have_value("Bearer hello world")  # to be corrected, not retyped


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

        await expect(page.locator("#add-status")).to_contain_text("2 added, 1 not added.")
        await expect(page.locator("#add-status")).to_have_attribute("aria-live", "polite")
        # Only the number that failed stays, with its reason; the others were cleared.
        boxes = page.get_by_role("textbox", name=re.compile("^Caller number"))
        await expect(boxes).to_have_count(1)
        await expect(number_box(page, 1)).to_have_value("02150000002")
        await expect(number_box(page, 1)).to_have_attribute("aria-invalid", "true")
        await expect(number_box(page, 1)).to_be_focused()  # the first box to fix
        await expect(page.get_by_text("The number is already registered")).to_be_visible()
        await screenshot(page, "add")

        await page.get_by_role("link", name="Caller numbers").click()
        rows = page.locator("#numbers tr")
        await expect(rows).to_have_count(3)
        await expect(rows.filter(has_text="02150000001")).to_contain_text("OU sales")
        await expect(rows.filter(has_text="02150000003")).to_contain_text("hotline")

    async def test_malformed_numbers_stay_in_their_boxes_and_the_others_are_saved(
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
        await page.get_by_role("button", name="Save").click()

        await expect(page.locator("#add-status")).to_contain_text("1 added, 2 not added.")
        await expect(page.get_by_text("digits 0-9 only")).to_be_visible()
        await expect(page.get_by_text("at most 24 digits")).to_be_visible()
        await expect(number_box(page, 2)).to_have_attribute("aria-invalid", "true")
        await expect(number_box(page, 1)).to_be_focused()
        listed = await http.get("/api/v1/caller-numbers", headers=admin)
        assert [i["number"] for i in listed.json()["items"]] == ["075500001"]

    async def test_a_column_of_50_numbers_pasted_from_a_spreadsheet_gets_50_boxes_and_saves(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await sign_in(page, gateway, admin)
        await page.get_by_role("link", name="Add Caller Number").click()
        numbers = [f"0211{n:06d}" for n in range(50)]
        await paste(page, number_box(page, 1), "\r\n".join(numbers) + "\r\n")  # Excel's copy
        await expect(page.locator("#paste-status")).to_have_text("Pasted 50 numbers into 50 boxes.")
        await expect(number_box(page, 50)).to_have_value(numbers[-1])
        await expect(number_box(page, 50)).to_be_focused()
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#add-status")).to_contain_text("50 added, 0 not added.")
        await expect(page.locator("#add-status")).to_be_focused()
        listed = await http.get("/api/v1/caller-numbers?limit=100", headers=admin)
        assert sorted(item["number"] for item in listed.json()["items"]) == numbers

    @pytest.mark.parametrize("separator", [",", ";", "\t", " ", ", ", "\n\n"], ids=repr)
    async def test_any_usual_separator_splits_a_paste_and_the_rest_past_100_is_named(
        self, page: Page, gateway: str, http: httpx.AsyncClient, separator: str
    ) -> None:
        tenant = await f.create_tenant(http)
        await sign_in(page, gateway, f.tenant_admin(tenant))
        await page.get_by_role("link", name="Add Caller Number").click()
        await number_box(page, 1).fill("4000")
        numbers = [f"5{n:04d}" for n in range(110)]
        await paste(page, number_box(page, 1), separator.join(numbers))
        boxes = page.get_by_role("textbox", name=re.compile("^Caller number"))
        await expect(boxes).to_have_count(100)  # the one typed in, and 99 pasted
        await expect(page.locator("#paste-status")).to_contain_text(
            "Pasted 99 numbers into 99 boxes. 11 numbers left over, as one Save takes at most"
            " 100: 50099, 50100, 50101, 50102, 50103, …"
        )
        await expect(number_box(page, 1)).to_have_value("4000")
        await expect(number_box(page, 2)).to_have_value("50000")
        await expect(page.get_by_role("button", name="Add", exact=True)).to_be_disabled()

    async def test_enter_moves_to_a_new_box_instead_of_saving(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await sign_in(page, gateway, admin)
        await page.get_by_role("link", name="Add Caller Number").click()
        await number_box(page, 1).fill("1001")
        await number_box(page, 1).press("Enter")
        await expect(number_box(page, 2)).to_be_focused()
        await page.keyboard.type("1002")
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Shift+Tab")  # back to box 1 (past Remove): Enter goes to 2
        await expect(number_box(page, 1)).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(number_box(page, 2)).to_be_focused()
        await expect(page.get_by_role("textbox", name=re.compile("^Caller number"))).to_have_count(
            2
        )
        await expect(page.locator("#add-status")).to_be_empty()
        listed = await http.get("/api/v1/caller-numbers", headers=admin)
        assert listed.json()["total"] == 0  # nothing was submitted

    async def test_the_text_mode_takes_up_to_100_numbers_and_saves_them_as_boxes(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await f.add_numbers(http, admin, ["7002"])
        await sign_in(page, gateway, admin)
        await page.get_by_role("link", name="Add Caller Number").click()
        await page.get_by_role("button", name="Type as text").click()
        text = page.get_by_role("textbox", name=re.compile("^Caller numbers, one per line"))
        await expect(text).to_be_focused()
        await text.fill("\n".join(str(n) for n in range(1, 102)))
        await expect(page.locator("#bulk-count")).to_have_text(
            "101 numbers: 1 over the limit of 100"
        )
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("alert").first).to_contain_text("Remove 1 first.")
        await text.fill("7001\n7002\n7003")
        await expect(page.locator("#bulk-count")).to_have_text("3 numbers")
        await screenshot(page, "add-text-mode")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#add-status")).to_contain_text("2 added, 1 not added.")
        await expect(number_box(page, 1)).to_have_value("7002")
        await expect(number_box(page, 1)).to_be_focused()

    async def test_numbers_ou_and_description_survive_signing_in_again(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        admin = f.tenant_admin(tenant)
        await sign_in(page, gateway, admin)
        await page.get_by_role("link", name="Add Caller Number").click()
        await paste(page, number_box(page, 1), "8001\n8002")
        await page.get_by_role("combobox", name="Organization unit").select_option("OU sales")
        await page.get_by_role("textbox", name="Description").fill("night shift")
        # The session ends (the token is gone); the user signs in again in the same tab.
        await page.evaluate("sessionStorage.removeItem('token')")
        await page.reload()
        await sign_in(page, gateway, f.tenant_admin(tenant))
        await page.get_by_role("link", name="Add Caller Number").click()
        await expect(number_box(page, 2)).to_have_value("8002")
        await expect(page.get_by_role("combobox", name="Organization unit")).to_have_value("sales")
        await expect(page.get_by_role("textbox", name="Description")).to_have_value("night shift")
        # An explicit sign-out forgets the draft.
        await page.get_by_role("button", name="Sign out").click()
        await sign_in(page, gateway, f.tenant_admin(tenant))
        await page.get_by_role("link", name="Add Caller Number").click()
        await expect(number_box(page, 1)).to_have_value("")


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
        pages = page.locator("#page-info")
        await expect(pages).to_have_text("1 to 20 of 22 · page 1 of 2")
        await screenshot(page, "numbers")
        await page.get_by_role("button", name="Next").click()
        await expect(pages).to_have_text("21 to 22 of 22 · page 2 of 2")

        await page.get_by_role("textbox", name="Number starts with").fill("0215")
        await page.get_by_role("button", name="Search").click()
        await expect(rows).to_have_count(2)
        await page.get_by_role("combobox", name="Organization unit").select_option("Unorganized")
        await page.get_by_role("textbox", name="Number starts with").fill("")
        await page.get_by_role("button", name="Search").click()
        await expect(pages).to_have_text("1 to 20 of 20 · page 1 of 1")

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
        dialog = page.get_by_role("dialog", name="Delete caller number 02150005678?")
        await expect(dialog).to_be_visible()
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
        await expect(page.get_by_role("button", name=re.compile("^(Edit|Delete)"))).to_have_count(0)
        await page.get_by_role("link", name="Add Caller Number").click()
        choices = page.get_by_role("combobox", name="Organization unit").locator("option")
        await expect(choices).to_have_text(["OU sales", "OU sales-east"])
        await screenshot(page, "agent-add")

    async def test_what_an_agent_may_not_do_is_said_with_the_reason(
        self, page: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        await f.add_numbers(http, f.tenant_admin(tenant), ["1234"], org_unit_id="sales")
        agent = f.agent(tenant, org_unit_id="sales", permissions=["caller_number:add"])
        await sign_in(page, gateway, agent)
        rights = page.locator("#rights-text")
        await expect(rights).to_have_text(
            "You may view and add caller numbers. You may not import, edit or delete: your "
            "account lacks the permissions caller_number:import, caller_number:edit, "
            "caller_number:delete, which a tenant administrator grants."
        )
        await expect(page.locator("#numbers tr")).to_have_count(1)
        await expect(page.locator("#numbers tr")).to_contain_text("View only")
        await expect(page.locator("#numbers-note")).to_contain_text(
            "Edit and delete are not offered: your account lacks the permissions "
            "caller_number:edit, caller_number:delete"
        )
        await page.get_by_role("link", name="Import").click()
        await expect(page.locator("#import-denied")).to_contain_text(
            "You may not import numbers: your account lacks the permission caller_number:import"
        )
        await expect(page.get_by_label("File (.xlsx or .csv)")).to_be_hidden()
        await screenshot(page, "agent-rights")

        viewer = f.agent(tenant, org_unit_id="sales", permissions=[])
        await page.get_by_role("button", name="Sign out").click()
        await sign_in(page, gateway, viewer)
        await page.get_by_role("link", name="Add Caller Number").click()
        await expect(page.locator("#add-denied")).to_contain_text(
            "You may not add numbers: your account lacks the permission caller_number:add"
        )
        await expect(page.get_by_role("button", name="Save")).to_be_hidden()

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
