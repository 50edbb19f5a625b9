"""Importing from the page in a real browser: template, upload, live progress, result, cancel."""

import re
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
    await page.get_by_role("button", name="OK", exact=True).click()
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
        await page.get_by_role("textbox", name="Description").fill("spring list")
        row = await upload(page, tmp_path / "ten-numbers.xlsx")

        await expect(row.locator(".status")).to_have_text("Completed")
        await expect(row.locator(".succeeded")).to_have_text("10")
        await expect(row.locator(".count")).to_have_text("10 of 10 · 100%")
        await expect(row.locator(".target")).to_have_text("to OU sales · spring list")
        await expect(row.locator(".speed")).to_contain_text("took")
        await expect(page.locator("progress:indeterminate")).to_have_count(0)
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
                await page.get_by_role("dialog").get_by_role("button", name="Cancel import").click()
                await expect(row.locator(".status")).to_have_text(re.compile("^Cancell"))
            finally:
                await blocker.rollback()
        await expect(row.locator(".status")).to_have_text("Cancelled")  # every row has its line
        await expect(row.locator(".count")).to_have_text("50 of 50 · 100%")  # not processed
        download = row.get_by_role("button", name="Download the result of fifty.xlsx")
        await expect(download).to_be_visible()


# Some rows applied and the held one's batch not: a count short of all, with its percent.
HELD_BACK = re.compile(r"^\s*([1-9]|[1-4]\d) of 50 · \d+%\s*$")


class TestHonestProgress:
    async def test_a_running_import_shows_percent_rate_and_time_left_and_cancel_asks_first(
        self, page: Page, gateway: str, http: httpx.AsyncClient, db: asyncpg.Pool, tmp_path: Path
    ) -> None:
        tenant = await f.create_tenant(http, org_units=[("sales", None)])
        await open_imports(page, gateway, f.tenant_admin(tenant))
        numbers = [f"1888{n:07d}" for n in range(50)]
        (tmp_path / "fifty.xlsx").write_bytes(files.xlsx(numbers))
        # Hold the last number: the batches without it go through, its batch waits (rows are
        # routed to partitions by their number, so how many pass depends on where it lands).
        async with db.acquire() as conn:
            blocker = conn.transaction()
            await blocker.start()
            try:
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
                await conn.execute(
                    "INSERT INTO caller_number (tenant_id, number) VALUES ($1, $2)",
                    tenant,
                    numbers[-1],
                )
                row = await upload(page, tmp_path / "fifty.xlsx")
                await registry_waits_on_a_lock(db, conn.get_server_pid())
                await expect(row.locator(".count")).to_have_text(HELD_BACK)
                applied = int((await row.locator(".count").inner_text()).split()[0])
                assert (await row.locator(".count").inner_text()).strip() == (
                    f"{applied} of 50 · {applied * 2}%"
                )
                await expect(row.locator(".speed")).to_contain_text(
                    re.compile(r"^[\d,]+ rows/s · about .+ left · done by ")
                )
                await expect(row.locator(".target")).to_have_text("to Unorganized")
                cancel = row.get_by_role("button", name="Cancel the import of fifty.xlsx")
                await expect(row.get_by_role("button", name=re.compile("^Download"))).to_have_count(
                    0
                )
                await screenshot(page, "import-running")

                await cancel.click()
                dialog = page.get_by_role("dialog", name="Cancel the import of fifty.xlsx?")
                await expect(dialog).to_contain_text("Rows not yet applied are not processed")
                await screenshot(page, "import-cancel")
                await dialog.get_by_role("button", name="Keep importing").click()
                await expect(cancel).to_be_focused()
                await expect(row.locator(".status")).to_have_text("Running")

                await cancel.click()
                await dialog.get_by_role("button", name="Cancel import").click()
                await expect(page.locator("#imports-status")).to_be_focused()
                await expect(row.locator(".status")).to_have_text(re.compile("^Cancell"))
            finally:
                await blocker.rollback()
        await expect(row.locator(".status")).to_have_text("Cancelled")
        await expect(row.locator(".count")).to_have_text("50 of 50 · 100%")
        await expect(row.locator(".not-processed")).to_have_text(re.compile(r"^\d+$"))
        await expect(page.locator("progress:indeterminate")).to_have_count(0)
        await expect(
            row.get_by_role("button", name="Download the result of fifty.xlsx")
        ).to_be_visible()

    async def test_a_failed_import_shows_no_moving_bar_and_no_download(
        self, page: Page, gateway: str, http: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        tenant = await f.create_tenant(http)
        await open_imports(page, gateway, f.tenant_admin(tenant))
        (tmp_path / "empty.csv").write_text("Caller Number\n")
        row = await upload(page, tmp_path / "empty.csv")
        await expect(row.locator(".status")).to_have_text(re.compile("^Failed: "))
        await expect(page.locator("progress:indeterminate")).to_have_count(0)
        await expect(row.get_by_role("button")).to_have_count(0)
        await expect(page.locator("#counts-legend")).to_contain_text(
            "Not processedrows never applied because the import was cancelled"
        )
