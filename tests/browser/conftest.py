"""Headless Chromium (Debian's) driven by Playwright, against the gateway the suite runs."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

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
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"  # see vendor/README.md
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}  # an iPhone 12-15's CSS pixels

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
    context = await browser.new_context(viewport=WIDE)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert not errors, errors


@pytest_asyncio.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """Like `page`, on a 390 px wide touch screen."""
    context = await browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
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
    """`name`.png at the page's width and `name`-390.png at a phone's (docs/screenshots/)."""
    await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    size = page.viewport_size
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=SCREENSHOTS / f"{name}-390.png", full_page=True)
    if size is not None:
        await page.set_viewport_size(size)


async def paste(page: Page, target: Locator, text: str) -> None:
    """What Ctrl+V of `text` copied from a spreadsheet does to `target`: a paste event."""
    await target.focus()
    await target.evaluate(
        """(element, text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            const event = new ClipboardEvent("paste", { clipboardData: data, bubbles: true,
                                                        cancelable: true });
            if (element.dispatchEvent(event)) element.value += text;  // not handled: typed in
            element.dispatchEvent(new Event("input", { bubbles: true }));
        }""",
        text,
    )


async def axe_violations(page: Page) -> list[dict[str, object]]:
    """axe-core's violations on the page as it is now: rule, impact and where."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())  # through DevTools: the page's CSP does not apply
    violations: list[dict[str, object]] = await page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
            .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.map((n) => n.target.join(" ")) }))"""
    )
    return violations


async def no_horizontal_scroll(page: Page) -> None:
    """The page is no wider than the screen (tables scroll or turn into cards inside it)."""
    widths = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    wide = await page.evaluate(
        """[...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth)
            .slice(0, 5).map((e) => e.tagName + "#" + e.id + "." + e.className)"""
    )
    assert widths[0] <= widths[1], f"{widths[0]} px wide on a {widths[1]} px screen: {wide}"
