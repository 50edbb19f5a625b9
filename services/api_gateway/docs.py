"""The API's pages, /docs and /asyncapi: every file from the gateway, under a CSP.

No /redoc: ReDoc loads its logo from its vendor's site.
"""

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# fastapi-offline ships Swagger UI's and ReDoc's files: served from here, no page needs a CDN.
ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"
# @asyncapi/react-component, vendored (see its README.md): no Python package ships it.
ASYNCAPI_ASSETS = Path(__file__).parent / "web" / "vendor" / "asyncapi"
ASYNCAPI_ASSETS_URL = "/asyncapi-assets"
_ASYNCAPI_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Caller Number Registry: AsyncAPI</title>
<link rel="stylesheet" href="{ASYNCAPI_ASSETS_URL}/default.min.css">
</head>
<body>
<div id="asyncapi"></div>
<script src="{ASYNCAPI_ASSETS_URL}/index.js"></script>
<script src="/web/asyncapi-page.js"></script>
</body>
</html>
"""
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def with_csp(page: HTMLResponse, *, script_eval: bool = False) -> HTMLResponse:
    """Scripts from the gateway and the page's own inline script (by hash), nothing else.

    Both UIs set inline styles, hence that grant. `script_eval` for the AsyncAPI page only:
    its parser compiles the document's JSON schemas into functions (ajv).
    """
    inline = " ".join(_sha256(s) for s in _INLINE_SCRIPT.findall(bytes(page.body).decode()))
    evaluate = " 'unsafe-eval'" if script_eval else ""
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self'{evaluate} {inline}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"
    )
    return page


def install(app: FastAPI) -> None:
    """/docs (Swagger UI) and /asyncapi; the app is made with docs_url=None, redoc_url=None."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    app.mount(ASYNCAPI_ASSETS_URL, StaticFiles(directory=ASYNCAPI_ASSETS), name="asyncapi-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return with_csp(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title}: API",
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            )
        )

    @app.get("/asyncapi", include_in_schema=False)
    async def asyncapi_page() -> HTMLResponse:
        """The AsyncAPI document of every topic, rendered; the JSON is at /asyncapi.json."""
        return with_csp(HTMLResponse(_ASYNCAPI_PAGE), script_eval=True)
