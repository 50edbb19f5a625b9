"""At 390 px: no view scrolls sideways, rows are cards with their buttons on screen, and every
dialog fits."""

import re

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests import factories as f
from tests import files
from tests.browser.conftest import PHONE, no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser


async def on_screen(locator: Locator) -> None:
    box = await locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box


class TestAPhoneScreen:
    async def test_every_view_fits_390_px_and_dialogs_fit_the_screen(
        self, phone: Page, gateway: str, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("a-long-org-unit-name-for-sales", None)])
        admin = f.tenant_admin(tenant)
        await f.add_numbers(
            http,
            admin,
            ["012345678901234567890123", "4008123456"],
            org_unit_id="a-long-org-unit-name-for-sales",
            description="x" * 200,
        )
        await phone.goto(gateway)
        await no_horizontal_scroll(phone)
        await sign_in(phone, gateway, admin)
        await expect(phone.locator("#numbers tr")).to_have_count(2)
        await no_horizontal_scroll(phone)
        edit = phone.get_by_role("button", name="Edit 4008123456")
        await edit.scroll_into_view_if_needed()
        await on_screen(edit)
        await on_screen(phone.get_by_role("button", name="Delete 4008123456"))

        await edit.click()
        await on_screen(phone.get_by_role("dialog"))
        await phone.get_by_role("dialog").get_by_role("button", name="Cancel").click()
        await phone.get_by_role("button", name="Delete 4008123456").click()
        await on_screen(phone.get_by_role("dialog"))
        await phone.get_by_role("dialog").get_by_role("button", name="Cancel").click()

        await phone.get_by_role("link", name="Add Caller Number").click()
        await phone.get_by_role("textbox", name="Caller number 1").fill("12a")
        await phone.get_by_role("button", name="Add", exact=True).click()
        await phone.get_by_role("textbox", name="Caller number 2").fill("34b")
        await phone.get_by_role("button", name="Save").click()
        await expect(phone.get_by_text("digits 0-9 only").first).to_be_visible()
        await no_horizontal_scroll(phone)
        remove = phone.get_by_role("button", name="Remove caller number 2")
        await remove.scroll_into_view_if_needed()
        await on_screen(remove)

        await phone.get_by_role("link", name="Import").click()
        await phone.get_by_label("File (.xlsx or .csv)").set_input_files(
            files=[
                {
                    "name": "two.xlsx",
                    "mimeType": "application/octet-stream",
                    "buffer": files.xlsx(["5001", "5002"]),
                }
            ]
        )
        await phone.get_by_role("button", name="OK", exact=True).click()
        await expect(phone.locator("#imports tr .status").first).to_have_text(
            re.compile("Completed|Running|Pending")
        )
        await no_horizontal_scroll(phone)

        await phone.locator("#renew-open").evaluate("button => button.click()")
        await on_screen(phone.get_by_role("dialog"))
