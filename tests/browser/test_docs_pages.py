"""The API's documentation pages render in a browser under their CSP, from the gateway alone."""

import pytest
from playwright.async_api import ConsoleMessage, Page, Request, Response, expect

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    ("path", "shows"),
    [
        ("/docs", "/api/v1/caller-numbers"),
        ("/asyncapi", "Every message is JSON"),
    ],
)
async def test_a_docs_page_renders_with_no_blocked_or_foreign_resource(
    page: Page, gateway: str, path: str, shows: str
) -> None:
    foreign: list[str] = []
    refused: list[str] = []
    missing: list[str] = []

    def on_request(request: Request) -> None:
        if not request.url.startswith((gateway, "data:", "blob:")):
            foreign.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    def on_response(response: Response) -> None:
        if response.status >= 400:
            missing.append(f"{response.status} {response.url}")

    page.on("request", on_request)
    page.on("response", on_response)
    page.on("console", on_console)
    await page.goto(gateway + path)
    await expect(page.get_by_text(shows).first).to_be_visible()
    assert foreign == [] and refused == [] and missing == []
