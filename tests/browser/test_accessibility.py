"""axe-core on every view and dialog of the page, wide and on a phone: no violation at all."""

from datetime import timedelta

import httpx
import pytest
from playwright.async_api import Page, ViewportSize, expect

from services.api_gateway.mint_token import mint
from tests import factories as f
from tests import files
from tests.browser.conftest import PHONE, WIDE, axe_violations, paste, sign_in

pytestmark = pytest.mark.browser


class Audit:
    """Collects axe's violations per view, so that one run names every view that fails."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.found: dict[str, list[dict[str, object]]] = {}

    async def __call__(self, view: str) -> None:
        if violations := await axe_violations(self.page):
            self.found[view] = violations


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1440px", "390px"])
async def test_every_view_has_no_axe_violation(
    page: Page, gateway: str, http: httpx.AsyncClient, viewport: ViewportSize
) -> None:
    await page.set_viewport_size(viewport)
    audit = Audit(page)
    tenant = await f.create_tenant(http, org_units=[("sales", None)])
    admin = f.tenant_admin(tenant)
    await f.add_numbers(http, admin, ["02150001234", "4008123456"], org_unit_id="sales")

    await page.goto(gateway)
    await page.get_by_label("Access token (JWT)").fill("nonsense")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("That is not a token")
    await audit("sign-in with an error")

    short = mint(sub="admin", role="tenant_admin", tenant_id=tenant, ttl=timedelta(minutes=4))
    await sign_in(page, gateway, f.bearer(short))
    await expect(page.locator("#numbers tr")).to_have_count(2)
    await expect(page.locator("#session-warning")).to_be_visible()
    await audit("list with a session warning")
    if viewport == PHONE:  # rows are cards: the column headers give way to a select
        await page.get_by_role("combobox", name="Sort by").select_option("Number, ascending")
    else:
        await page.get_by_role("columnheader", name="Caller number").get_by_role("button").click()
    await expect(page.get_by_role("columnheader", name="Caller number")).to_have_attribute(
        "aria-sort", "ascending"
    )
    await audit("list sorted")
    await page.get_by_role("checkbox", name="Select 4008123456").check()
    await expect(page.locator("#selection-text")).to_have_text("1 number selected.")
    await audit("list with a selection")
    await page.get_by_role("button", name="Edit 4008123456").click()
    await audit("edit dialog")
    await page.keyboard.press("Escape")
    await page.get_by_role("button", name="Delete 4008123456").click()
    await audit("delete confirmation")
    await page.keyboard.press("Escape")
    await page.get_by_role("button", name="Paste a fresh token").click()
    await page.get_by_role("button", name="Use this token").click()
    await audit("renew dialog with an error")
    await page.keyboard.press("Escape")

    await page.get_by_role("link", name="Add Caller Number").click()
    await paste(page, page.get_by_role("textbox", name="Caller number 1"), "12a\n4008123456\n7")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#add-status")).not_to_be_empty()
    await audit("add with outcomes")
    await page.get_by_role("button", name="Type as text").click()
    await audit("add as text")

    await page.get_by_role("link", name="Import").click()
    await page.get_by_label("File (.xlsx or .csv)").set_input_files(
        files=[
            {
                "name": "two.xlsx",
                "mimeType": "application/octet-stream",
                "buffer": files.xlsx(["5001", "5002"]),
            }
        ]
    )
    await page.get_by_role("button", name="OK", exact=True).click()
    await expect(page.locator("#imports tr .status").first).to_have_text("Completed")
    await audit("import with a finished task")

    agent = f.agent(tenant, org_unit_id="sales", permissions=[])
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, gateway, agent)
    await expect(page.locator("#rights")).to_be_visible()
    await audit("an agent's list with what they may not do")
    await page.get_by_role("link", name="Add Caller Number").click()
    await audit("an agent's add, not permitted")
    await page.get_by_role("link", name="Import").click()
    await audit("an agent's import, not permitted")

    assert audit.found == {}, audit.found


async def test_the_audit_finds_a_known_violation(page: Page) -> None:
    """The audit above can fail: an image without a text alternative is caught."""
    await page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    assert "image-alt" in [violation["id"] for violation in await axe_violations(page)]
