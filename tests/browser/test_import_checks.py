"""The import page's checks in a real browser: Check file, Import for real, a file imported
before asks first, and per-row OU columns."""

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests import factories as f
from tests import files
from tests.browser.conftest import screenshot
from tests.browser.test_import_page import open_imports

pytestmark = pytest.mark.browser


async def choose(page: Page, path: Path, button: str) -> None:
    await page.get_by_label("File (.xlsx or .csv)").set_input_files(path)
    await page.get_by_role("button", name=button, exact=True).click()


class TestCheckFile:
    async def test_check_then_import_for_real_then_the_same_file_asks_first(
        self, page: Page, gateway: str, http: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None), ("north", "sales")])
        admin = f.tenant_admin(tenant)
        await open_imports(page, gateway, admin)
        path = tmp_path / "with-ous.xlsx"
        header = ("Caller Number", "Organization Unit", "Description")
        path.write_bytes(
            files.table(
                [("0211", "OU sales / OU north", "desk"), ("0212", None, None)], header=header
            )
        )

        await choose(page, path, "Check file")
        check = page.locator("#imports tr").first
        await expect(check.locator(".status")).to_have_text("Checked")
        await expect(check.locator(".target")).to_contain_text("Check only, nothing imported")
        await expect(check.locator(".succeeded")).to_have_text("2")
        listed = await http.get("/api/v1/caller-numbers", headers=admin)
        assert listed.json()["total"] == 0
        await screenshot(page, "import-checked")

        await check.get_by_role("button", name="Import with-ous.xlsx for real").click()
        real = page.locator("#imports tr").first
        await expect(real.locator(".target")).to_contain_text("Checked before")
        await expect(real.locator(".status")).to_have_text("Completed")
        await expect(check.get_by_role("button", name=re.compile("for real"))).to_have_count(0)
        numbers = (await http.get("/api/v1/caller-numbers", headers=admin)).json()["items"]
        assert {(n["number"], n["org_unit_id"]) for n in numbers} == {
            ("0211", "north"),
            ("0212", None),
        }

        await choose(page, path, "OK")
        dialog = page.get_by_role("dialog", name="with-ous.xlsx was imported before")
        await expect(dialog).to_contain_text("2 rows succeeded")
        await screenshot(page, "import-duplicate")
        await dialog.get_by_role("button", name="Don't import").click()
        await expect(page.locator("#imports tr")).to_have_count(2)

        await choose(page, path, "OK")
        await dialog.get_by_role("button", name="Import again").click()
        await expect(page.locator("#imports tr")).to_have_count(3)
        again = page.locator("#imports tr").first
        await expect(again.locator(".status")).to_have_text("Completed")
        await expect(again.locator(".duplicates")).to_have_text("2")
