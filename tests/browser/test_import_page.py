"""Importing from the page in a real browser: template, upload, live progress, result, cancel."""

from pathlib import Path

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook
from playwright.async_api import Download, Locator, Page, expect

from tests import factories as f
from tests import files
from tests.browser.conftest import screenshot, sign_in
from tests.e2e.test_imports import registry_waits_on_a_lock

pytestmark = pytest.mark.browser


async def open_imports(page: Page, gateway: str, headers: dict[str, str]) -> None:
    await sign_in(page, gateway, headers)
    await page.get_by_role("link", name="Import").click()
    await expect(page.get_by_role("heading", name="Import results")).to_be_visible()


async def saved(download: Download, folder: Path) -> Path:
    path = folder / download.suggested_filename
    await download.save_as(path)
    return path


async def upload(page: Page, path: Path) -> Locator:
    """Choose the file, press OK; the new task's row (the list is newest first)."""
    await page.get_by_label("File (.xlsx or .csv)").set_input_files(path)
    await page.get_by_role("button", name="OK").click()
    row = page.locator("#imports tr").first
    await expect(row).to_contain_text(path.name)
    return row


class TestImporting:
    async def test_the_template_filled_with_ten_numbers_imports_and_its_result_downloads(
        self, page: Page, gateway: str, http: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        await open_imports(page, gateway, f.tenant_admin(tenant))
        async with page.expect_download() as template_download:
            await page.get_by_role("button", name="Download Template").click()
        template = await saved(await template_download.value, tmp_path)

        workbook = load_workbook(template)
        sheet = workbook.active
        assert sheet is not None and sheet["A1"].value == "Caller Number"
        numbers = [f"0755{n:07d}" for n in range(10)]
        for row, number in enumerate(numbers, start=2):
            sheet.cell(row=row, column=1, value=number)
        workbook.save(tmp_path / "ten-numbers.xlsx")
        await page.get_by_role("combobox", name="Organization unit").select_option("OU sales")
        row = await upload(page, tmp_path / "ten-numbers.xlsx")

        await expect(row.locator(".status")).to_have_text("Completed")
        await expect(row.locator(".succeeded")).to_have_text("10")
        await expect(row.locator(".count")).to_have_text("10 of 10")
        await screenshot(page, "import")
        async with page.expect_download() as result_download:
            await row.get_by_role("button", name="Download the result of ten-numbers.xlsx").click()
        result = load_workbook(await saved(await result_download.value, tmp_path), read_only=True)
        lines = list(result.worksheets[0].iter_rows(values_only=True))
        assert [(line[1], line[2]) for line in lines[1:]] == [(n, "success") for n in numbers]

    async def test_a_running_import_shows_progress_and_can_be_cancelled(
        self, page: Page, gateway: str, http: httpx.AsyncClient, db: asyncpg.Pool, tmp_path: Path
    ) -> None:
        tenant = await f.create_tenant(http)
        await open_imports(page, gateway, f.tenant_admin(tenant))
        numbers = [f"1999{n:07d}" for n in range(50)]
        (tmp_path / "fifty.xlsx").write_bytes(files.xlsx(numbers))
        # Hold the first number uncommitted: the registry's first batch waits on it.
        async with db.acquire() as conn:
            blocker = conn.transaction()
            await blocker.start()
            try:
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
                await conn.execute(
                    "INSERT INTO caller_number (tenant_id, number) VALUES ($1, $2)",
                    tenant,
                    numbers[0],
                )
                row = await upload(page, tmp_path / "fifty.xlsx")
                await registry_waits_on_a_lock(db, conn.get_server_pid())
                await expect(row.locator(".status")).to_have_text("Running")
                await expect(row.locator("progress")).to_be_visible()
                await screenshot(page, "import-running")
                await row.get_by_role("button", name="Cancel the import of fifty.xlsx").click()
                await expect(row.locator(".status")).to_have_text("Cancelled")
            finally:
                await blocker.rollback()
        await expect(row.locator(".count")).to_have_text("50 of 50")  # the rest: not processed
        download = row.get_by_role("button", name="Download the result of fifty.xlsx")
        await expect(download).to_be_visible()
