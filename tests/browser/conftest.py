"""Headless Chromium (Debian's) driven by Playwright, against the gateway the suite runs."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.infra import ROOT
from tests.processes import ServiceProcess

CHROMIUM = Path("/usr/bin/chromium")  # apt-get install chromium; scripts/test.sh does it
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-output" / "screenshots"

expect.set_options(timeout=20_000)  # imports and commands take seconds on a busy machine


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # Each launch runs on a new, empty profile (a --user-data-dir Playwright makes in /tmp).
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        await browser.close()


@pytest_asyncio.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page of its own (own sessionStorage), failing the test on any script error."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert not errors, errors


@pytest.fixture
def gateway(services: dict[str, ServiceProcess]) -> str:
    return services["api_gateway"].url


async def sign_in(page: Page, gateway: str, headers: dict[str, str]) -> None:
    """Through the sign-in form, with the token of `headers` (see tests/factories.py)."""
    await page.goto(gateway)
    await page.get_by_label("Access token (JWT)").fill(headers["Authorization"].split()[1])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Access Code", level=1)).to_be_visible()


async def screenshot(page: Page, name: str) -> None:
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
