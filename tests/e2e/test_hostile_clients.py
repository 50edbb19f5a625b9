"""Hostile HTTP clients against the real gateway: huge, slow and malformed bodies."""

import asyncio
import base64
import hashlib
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from services.api_gateway import uploads
from services.api_gateway.observability import METHODS
from shared.contracts import BULK_CHUNK
from shared.db.pool import tenant_transaction
from shared.settings import DEVELOPMENT_JWT_SECRET
from tests import factories as f
from tests.infra import ROOT, Backing
from tests.processes import APPS, ServiceProcess, free_port, service_env
from tests.waiting import deadline

pytestmark = pytest.mark.integration
ADD = "/api/v1/caller-numbers"
IMPORTS = "/api/v1/caller-number-imports"
MiB = 1024 * 1024


def rss_bytes(service: ServiceProcess) -> int:
    assert service.process is not None
    for line in Path(f"/proc/{service.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def raw_status(service: ServiceProcess, head: str, body: bytes = b"") -> int:
    """Send a request as bytes (so nothing is fixed up on the way) and read the status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1])
    finally:
        writer.close()


class TestBodiesAreCappedBeforeWork:
    async def test_a_declared_70_mb_body_without_a_token_is_refused_unread(
        self, services: dict[str, ServiceProcess], http: httpx.AsyncClient
    ) -> None:
        gateway = services["api_gateway"]
        head = (
            f"POST {ADD} HTTP/1.1\nHost: gateway\nContent-Type: application/json\n"
            f"Content-Length: {70 * MiB}\n"
        )
        assert await raw_status(gateway, head) == 413  # answered before a byte of the body

    async def test_a_streamed_70_mb_body_without_a_token_leaves_the_gateways_memory_flat(
        self, services: dict[str, ServiceProcess], http: httpx.AsyncClient
    ) -> None:
        gateway = services["api_gateway"]
        before = rss_bytes(gateway)

        async def body() -> object:
            for _ in range(70):
                yield b" " * MiB

        try:
            response = await http.post(
                ADD, content=body(), headers={"Content-Type": "application/json"}
            )
            status = response.status_code
        except httpx.TransportError:  # the gateway answered and closed while we still sent
            status = 413
        assert status == 413
        assert rss_bytes(gateway) - before < 10 * MiB

    @given(size=st.integers(0, 3 * 64 * 1024), token=st.booleans())
    async def test_any_json_body_past_64_kib_is_413_with_or_without_a_token(
        self, services: dict[str, ServiceProcess], http: httpx.AsyncClient, size: int, token: bool
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if token:
            headers |= f.tenant_admin("no-such-tenant")
        body = b'{"numbers": ["1"], "description": "' + b"x" * size + b'"}'
        response = await http.post(ADD, content=body, headers=headers)
        if len(body) > 64 * 1024:
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "too_large"
        else:
            assert response.status_code in {401, 404, 422}  # auth, tenant or validation

    async def test_the_largest_bulk_request_fits_its_routes_cap(
        self, http: httpx.AsyncClient
    ) -> None:
        numbers = ["9" * 64] * BULK_CHUNK  # the longest allowed text, as many as allowed
        body = {"operation": "delete", "numbers": numbers}
        response = await http.post(
            "/api/v1/caller-number-bulk-operations",
            json=body,
            headers=f.tenant_admin(await _tenant(http)),
        )
        assert response.status_code != 413, response.text

    async def test_an_upload_past_its_cap_without_a_token_is_refused_unread(
        self, services: dict[str, ServiceProcess], http: httpx.AsyncClient
    ) -> None:
        head = (
            f"POST {IMPORTS} HTTP/1.1\nHost: gateway\n"
            "Content-Type: multipart/form-data; boundary=b\n"
            f"Content-Length: {2 * MiB}\n"  # the tests' upload cap is 1 MiB
        )
        assert await raw_status(services["api_gateway"], head) == 413


def multipart(parts: list[tuple[str, list[str], bytes]], boundary: str = "b0undary") -> bytes:
    """A form from (name, extra header lines, value) parts, written by hand to reach limits."""
    out = []
    for name, extra, value in parts:
        head = [f'Content-Disposition: form-data; name="{name}"', *extra]
        out += [f"--{boundary}\r\n".encode(), "\r\n".join(head).encode(), b"\r\n\r\n"]
        out += [value, b"\r\n"]
    return b"".join([*out, f"--{boundary}--\r\n".encode()])


CSV = b"Caller Number\r\n021500000001\r\n"
_EXAMPLES = itertools.count(1)


class TestUploadFormsAreCapped:
    @given(
        fields=st.integers(0, 12),
        field_bytes=st.sampled_from([0, 10, 4096, 4097, 20_000]),
        header_lines=st.integers(0, 12),
        header_bytes=st.sampled_from([10, 900, 1100, 10_000]),
    )
    async def test_any_form_past_a_limit_is_a_4xx_and_one_within_them_is_accepted(
        self,
        http: httpx.AsyncClient,
        fields: int,
        field_bytes: int,
        header_lines: int,
        header_bytes: int,
    ) -> None:
        headers = f.tenant_admin(await _tenant(http))
        extra = [f"X-Extra-{i}: {'h' * header_bytes}" for i in range(header_lines)]
        parts = [(f"extra{i}", [], b"v" * field_bytes) for i in range(fields)]
        # A file of its own per example: the same bytes again would be a duplicate file (409).
        csv = CSV + b"%d\r\n" % next(_EXAMPLES)
        parts.append(("file", ["Content-Type: text/csv", *extra], csv))
        body = multipart(parts)
        response = await http.post(
            IMPORTS,
            content=body,
            headers=headers | {"Content-Type": "multipart/form-data; boundary=b0undary"},
        )
        within = (
            fields + 1 <= uploads.MAX_PARTS
            and (fields == 0 or field_bytes <= uploads.MAX_FIELD_BYTES)
            # the file part's lines: its disposition, its type and the extra ones
            and 2 + header_lines <= uploads.MAX_PART_HEADERS
            and (header_lines == 0 or len(extra[0]) <= uploads.MAX_PART_HEADER_BYTES)
        )
        if within:
            assert response.status_code == 202, response.text
        else:
            assert 400 <= response.status_code < 500, response.text

    @pytest.mark.parametrize(
        ("count", "size", "status"),
        [(20_000, 4096, 413), (10_000, 8, 422)],
        ids=["the-probe's-80-MB-form: body cap", "many-small-fields: part cap"],
    )
    async def test_20000_fields_of_4_kb_are_refused(
        self, http: httpx.AsyncClient, count: int, size: int, status: int
    ) -> None:
        headers = f.tenant_admin(await _tenant(http))
        parts = [(f"f{i}", [], b"v" * size) for i in range(count)]
        response = await http.post(
            IMPORTS,
            content=multipart([*parts, ("file", [], CSV)]),
            headers=headers | {"Content-Type": "multipart/form-data; boundary=b0undary"},
        )
        assert response.status_code == status, response.text


_TENANT: list[str] = []


async def _tenant(http: httpx.AsyncClient) -> str:
    """One importing tenant for the generated forms: made once, not once per example."""
    if not _TENANT:
        _TENANT.append(await f.create_tenant(http))
    return _TENANT[0]


class TestLogContext:
    async def test_two_concurrent_imports_log_their_own_ids(self, http: httpx.AsyncClient) -> None:
        from tests.conftest import OUTPUT
        from tests.e2e.test_imports import finished, upload

        tenants = [await f.create_tenant(http) for _ in range(2)]
        admins = [f.tenant_admin(tenant) for tenant in tenants]
        rows = b"Caller Number\r\n" + b"".join(b"0215%07d\r\n" % i for i in range(300))
        tasks = await asyncio.gather(
            *(upload(http, admin, rows, name="numbers.csv") for admin in admins)
        )
        for admin, task in zip(admins, tasks, strict=True):
            await finished(http, admin, task["id"])
        ids = {task["id"]: tenant for task, tenant in zip(tasks, tenants, strict=True)}
        named = [
            line
            for line in _json_lines(OUTPUT / "logs" / "import_worker.log")
            if line.get("message", "").startswith("import ") and line["message"][7:43] in ids
        ]
        assert {line["message"][7:43] for line in named} == set(ids)  # both were logged
        for line in named:
            task_id = line["message"][7:43]
            assert (line.get("task_id"), line.get("tenant_id")) == (task_id, ids[task_id]), line


def _json_lines(path: Path) -> list[dict[str, Any]]:
    with path.open() as log:
        return [json.loads(line) for line in log if line.startswith("{")]


_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class TestWhatEveryResponseCarries:
    @given(
        method=st.one_of(
            st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
            st.text(_TOKEN_CHARS, min_size=1, max_size=24),
        ),
        path=st.sampled_from(
            ["/health", "/", ADD, IMPORTS, "/docs", "/no/such/path", "/web/app.js"]
        ),
    )
    async def test_any_method_on_any_path_answers_with_the_security_headers_and_a_closed_label(
        self, http: httpx.AsyncClient, method: str, path: str
    ) -> None:
        response = await http.request(method, path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        methods = {
            sample.labels["method"]
            for family in text_string_to_metric_families((await http.get("/metrics")).text)
            if family.name == "http_requests"
            for sample in family.samples
        }
        assert methods <= {*METHODS, "other"}

    async def test_a_refused_body_carries_them_too(
        self, services: dict[str, ServiceProcess]
    ) -> None:
        head = f"POST {ADD} HTTP/1.1\nHost: gateway\nContent-Length: {70 * MiB}\n"
        reader, writer = await asyncio.open_connection("127.0.0.1", services["api_gateway"].port)
        try:
            writer.write(head.replace("\n", "\r\n").encode() + b"\r\n")
            answer = (await asyncio.wait_for(reader.read(4096), 30)).decode().lower()
        finally:
            writer.close()
        assert (
            "x-content-type-options: nosniff" in answer and "referrer-policy: no-referrer" in answer
        )


class TestDocsPages:
    @pytest.mark.parametrize("page", ["/docs", "/asyncapi"])
    async def test_a_docs_page_loads_only_the_gateways_files_under_a_csp(
        self, http: httpx.AsyncClient, page: str
    ) -> None:
        response = await http.get(page)
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "http" not in policy  # no other origin is allowed
        urls = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls)
        for url in urls:
            assert (await http.get(url)).status_code == 200, url
        for script in re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL):
            digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in policy  # the inline script is allowed by its hash

    async def test_openapi_json_documents_the_refusals_before_work(
        self, http: httpx.AsyncClient
    ) -> None:
        paths = (await http.get("/openapi.json")).json()["paths"]
        assert {"408", "413"} <= set(paths[ADD]["post"]["responses"])  # refused before work
        assert "429" in paths[IMPORTS]["post"]["responses"]


class TestDevelopmentSecrets:
    def test_every_service_outside_development_mode_refuses_to_start_with_them(
        self, backing: Backing
    ) -> None:
        env = service_env(backing, secret=DEVELOPMENT_JWT_SECRET)
        env.pop("DEVELOPMENT_MODE")
        started = {
            app: subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    APPS[app],
                    "--port",
                    str(free_port()),
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for app in APPS
        }
        for app, process in started.items():
            output, _ = process.communicate(timeout=60)
            assert process.returncode != 0, app
            assert b"AUTH_JWT_SECRET, DATABASE_URL, DATABASE_OWNER_URL still hold" in output, app


class TestRunningImportsPerTenant:
    async def test_imports_beyond_the_tenants_limit_wait_pending_and_all_complete(
        self, http: httpx.AsyncClient, db: asyncpg.Pool
    ) -> None:
        from tests.e2e.test_imports import finished, upload

        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        rows = b"Caller Number\r\n" + b"".join(b"0216%07d\r\n" % i for i in range(300))
        # One after the other: two at once is the tenant's upload limit.
        tasks = [
            await upload(http, admin, rows, name=f"part{n}.csv", confirm_duplicate="true")
            for n in range(3)
        ]
        seen_pending_while_two_ran = False
        async for _ in deadline(60, every=0.1):
            listed = (await http.get(IMPORTS, headers=admin)).json()["items"]
            statuses = [task["status"] for task in listed]
            assert statuses.count("running") <= 2, statuses
            if statuses.count("running") == 2 and "pending" in statuses:
                seen_pending_while_two_ran = True
            if all(status == "completed" for status in statuses):
                break
        for task in tasks:
            await finished(http, admin, task["id"])
        async with tenant_transaction(db, tenant) as conn:
            spans = await conn.fetch(
                "SELECT started_at, finished_at FROM import_task WHERE tenant_id = $1", tenant
            )
        # Never more than two at once, over the tasks' whole running time.
        for span in spans:
            at_once = [s for s in spans if s["started_at"] <= span["started_at"] < s["finished_at"]]
            assert len(at_once) <= 2, spans
        assert seen_pending_while_two_ran
