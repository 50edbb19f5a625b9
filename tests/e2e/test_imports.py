"""Bulk import end to end: upload, background read, registry, results, report."""

import io
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from openpyxl import load_workbook

from services.import_worker.routing import partition_of
from shared import topics
from shared.contracts import ImportRowResult, ImportRowsApplied, Principal, Role
from shared.db.pool import tenant_transaction
from shared.kafka import partition_count
from tests import factories as f
from tests import files
from tests.infra import Backing
from tests.waiting import deadline

IMPORTS = "/api/v1/caller-number-imports"
FINISHED = {"completed", "failed", "cancelled"}


async def upload(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    *,
    name: str = "numbers.xlsx",
    **fields: str,
) -> dict[str, Any]:
    response = await http.post(
        IMPORTS, files={"file": (name, content)}, data=fields, headers=headers
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] in {"pending", "running"}
    return body


async def finished(http: httpx.AsyncClient, headers: dict[str, str], task_id: str) -> Any:
    """The task once it is final; a completed or cancelled one has a result for every row and
    is returned once its report is stored."""
    async for _ in deadline(60, every=0.1):
        task = (await http.get(f"{IMPORTS}/{task_id}", headers=headers)).json()
        if task["status"] in FINISHED and (task["status"] == "failed" or task["report_ready"]):
            if task["status"] != "failed":
                counters = task["counters"]
                counted = counters["succeeded"] + counters["failed"] + counters["not_processed"]
                assert counted == counters["rows_read"] == counters["rows_total"], task
            return task
    raise AssertionError(f"import {task_id} not finished: {task}")


async def report(http: httpx.AsyncClient, headers: dict[str, str], task_id: str) -> list[tuple]:
    response = await http.get(f"{IMPORTS}/{task_id}/result", headers=headers)
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


async def import_tenant(http: httpx.AsyncClient, **kwargs: Any) -> tuple[str, dict[str, str]]:
    tenant = await f.create_tenant(http, **kwargs)
    return tenant, f.tenant_admin(tenant)


class TestTheMainFlow:
    async def test_the_template_has_the_caller_number_column(self, http: httpx.AsyncClient) -> None:
        response = await http.get(f"{IMPORTS}/template")
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        assert sheet["A1"].value == "Caller Number"

    async def test_ten_numbers_in_the_template_import_and_report_success(
        self, http: httpx.AsyncClient, db: asyncpg.Pool
    ) -> None:
        tenant, admin = await import_tenant(http, org_units=[("sales", None)])
        numbers = [f"0755{n:07d}" for n in range(10)]
        task = await upload(
            http, admin, files.xlsx(numbers), org_unit_id="sales", description="campaign"
        )
        done = await finished(http, admin, task["id"])
        assert done["status"] == "completed"
        assert done["counters"] == {
            "rows_total": 10,
            "rows_read": 10,
            "succeeded": 10,
            "failed": 0,
            "duplicates": 0,
            "not_processed": 0,
        }
        assert done["started_at"] and done["finished_at"] and done["file_name"] == "numbers.xlsx"
        lines = await report(http, admin, task["id"])
        assert lines[0] == (
            "Row",
            "Caller Number",
            "Result",
            "Reason",
            "Organization Unit",
            "Description",
        )
        assert lines[1:] == [
            (n + 2, numbers[n], "success", None, "OU sales", "campaign") for n in range(10)
        ]
        async with tenant_transaction(db, tenant) as conn:  # the file is not kept once done
            assert await conn.fetchval("SELECT count(*) FROM import_file_chunk") == 0
        listed = await http.get("/api/v1/caller-numbers?org_unit_id=sales&limit=100", headers=admin)
        assert sorted(i["number"] for i in listed.json()["items"]) == numbers
        assert {i["description"] for i in listed.json()["items"]} == {"campaign"}

    async def test_a_messy_file_reports_every_row_with_its_reason(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        await f.add_numbers(http, admin, ["5550001"])
        values: list[object | None] = [
            " 01234 ",  # row 2: trimmed
            "12a4",  # 3
            None,  # 4: blank, skipped
            "1" * 21,  # 5
            "2" * 20,  # 6
            "01234",  # 7: repeated in the file
            "5550001",  # 8: already registered
            13800138000,  # 9: an integer cell
            1.5,  # 10
            1.2345678901234567e19,  # 11: lost digits
            '=HYPERLINK("http://x")',  # 12
        ]
        task = await upload(http, admin, files.xlsx(values))
        done = await finished(http, admin, task["id"])
        counters = done["counters"]
        assert (counters["rows_total"], counters["succeeded"], counters["failed"]) == (10, 3, 7)
        assert counters["duplicates"] == 2
        lines = await report(http, admin, task["id"])
        results = {line[0]: (line[1], line[2]) for line in lines[1:]}
        lost_digits = results.pop(11)  # the float's text as the file holds it
        assert lost_digits[0].startswith("1.2345678901234") and lost_digits[1] == "failure"
        assert results == {
            2: (" 01234 ", "success"),
            3: ("12a4", "failure"),
            5: ("1" * 21, "failure"),
            6: ("2" * 20, "success"),
            7: ("01234", "failure"),
            8: ("5550001", "failure"),
            9: ("13800138000", "success"),
            10: ("1.5", "failure"),
            12: ('=HYPERLINK("http://x")', "failure"),
        }
        reasons = {line[0]: line[3] for line in lines[1:]}
        assert "row 2" in reasons[7]
        assert "text" in reasons[11].lower()

    async def test_the_report_is_offered_once_stored_and_downloads_the_same_bytes_each_time(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        task = await upload(http, admin, files.csv(["Caller Number", "091", "9x"]), name="x.csv")
        done = await finished(http, admin, task["id"])
        assert done["status"] == "completed" and done["report_ready"]
        listed = (await http.get(IMPORTS, headers=admin)).json()["items"]
        assert [t["report_ready"] for t in listed if t["id"] == task["id"]] == [True]
        for format, media_type in (("xlsx", "application/vnd.openxmlformats"), ("csv", "text/csv")):
            url = f"{IMPORTS}/{task['id']}/result?format={format}"
            first, second = [await http.get(url, headers=admin) for _ in range(2)]
            assert first.status_code == second.status_code == 200, first.text
            assert first.headers["content-type"].startswith(media_type)
            assert int(first.headers["content-length"]) == len(first.content)
            assert first.content == second.content
        lines = await report(http, admin, task["id"])
        assert [line[:3] for line in lines[1:]] == [(2, "091", "success"), (3, "9x", "failure")]

    async def test_a_formula_in_the_file_comes_back_as_a_plain_string(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        task = await upload(
            http, admin, files.csv(["Caller Number", "=1+2", "@SUM(A1)"]), name="x.csv"
        )
        await finished(http, admin, task["id"])
        response = await http.get(f"{IMPORTS}/{task['id']}/result", headers=admin)
        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        assert [(c.value, c.data_type) for c in sheet["B"][1:]] == [
            ("=1+2", "s"),
            ("@SUM(A1)", "s"),
        ]
        as_csv = await http.get(f"{IMPORTS}/{task['id']}/result?format=csv", headers=admin)
        assert "'=1+2" in as_csv.text and "'@SUM(A1)" in as_csv.text

    async def test_a_csv_with_bom_and_crlf_imports_like_a_spreadsheet(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        content = files.csv(["Caller Number", "0211111", "", "0222222"], bom=True)
        task = await upload(http, admin, content, name="numbers.csv")
        done = await finished(http, admin, task["id"])
        assert done["counters"]["succeeded"] == 2
        lines = await report(http, admin, task["id"])
        assert [line[:3] for line in lines[1:]] == [
            (2, "0211111", "success"),
            (4, "0222222", "success"),
        ]


class TestBadFiles:
    @pytest.mark.parametrize(
        ("content", "code"),
        [
            (b"%PDF-1.7 not a spreadsheet", "not_a_spreadsheet"),
            (files.xlsx([], header="Caller Number"), "empty"),
            (files.xlsx(["123"], header="Phone"), "missing_header"),
            (files.zip_bomb(), "zip_bomb"),
            (files.csv(["Caller Number"] + ["1"] * 1001), "too_many_rows"),
        ],
        ids=["pdf", "empty", "header", "zip-bomb", "too-many-rows"],
    )
    async def test_a_bad_file_fails_its_task_with_a_reason(
        self, http: httpx.AsyncClient, db: asyncpg.Pool, content: bytes, code: str
    ) -> None:
        tenant, admin = await import_tenant(http)
        task = await upload(http, admin, content)
        done = await finished(http, admin, task["id"])
        assert done["status"] == "failed" and done["error_code"] == code
        assert done["error_message"]
        response = await http.get(f"{IMPORTS}/{task['id']}/result", headers=admin)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "import_failed"
        async with tenant_transaction(db, tenant) as conn:  # the file is not kept
            assert await conn.fetchval("SELECT count(*) FROM import_file_chunk") == 0

    async def test_a_file_over_the_size_limit_is_refused_with_413(
        self, http: httpx.AsyncClient, db: asyncpg.Pool
    ) -> None:
        tenant, admin = await import_tenant(http)
        big = files.csv(["Caller Number"] + ["1234567890"] * 300_000)  # about 3.6 MB
        response = await http.post(IMPORTS, files={"file": ("big.csv", big)}, headers=admin)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
        async with tenant_transaction(db, tenant) as conn:
            stored = await conn.fetchval("SELECT count(*) FROM import_task")
        assert stored == 0

    async def test_an_upload_with_two_files_is_a_validation_error(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        two = [("file", ("a.csv", b"Caller Number\r\n1\r\n")), ("file", ("b.csv", b"2\r\n"))]
        response = await http.post(IMPORTS, files=two, headers=admin)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "validation_error"

    async def test_an_upload_without_a_file_is_a_validation_error(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        response = await http.post(
            IMPORTS, data={"description": "x"}, files={"other": ("a", b"1")}, headers=admin
        )
        assert response.status_code == 422


class TestTasks:
    async def test_tasks_are_listed_newest_first(self, http: httpx.AsyncClient) -> None:
        _, admin = await import_tenant(http)
        first = await upload(http, admin, files.xlsx(["1"]))
        second = await upload(http, admin, files.xlsx(["2"]))
        listed = (await http.get(IMPORTS, headers=admin)).json()
        assert [t["id"] for t in listed["items"]] == [second["id"], first["id"]]
        assert listed["total"] == 2

    async def test_the_same_idempotency_key_returns_the_same_task(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        key = {**admin, "Idempotency-Key": f.unique("key")}
        content = files.xlsx(["31"])  # made once: an xlsx holds the second it was saved
        first = await upload(http, key, content)
        again = await http.post(IMPORTS, files={"file": ("b.xlsx", content)}, headers=key)
        assert again.status_code == 202 and again.json()["id"] == first["id"]
        assert (await http.get(IMPORTS, headers=admin)).json()["total"] == 1

    async def test_an_agent_sees_only_imports_into_their_ous(self, http: httpx.AsyncClient) -> None:
        tenant, admin = await import_tenant(
            http, isolation=True, org_units=[("sales", None), ("hr", None)]
        )
        sales = await upload(http, admin, files.xlsx(["41"]), org_unit_id="sales")
        hr = await upload(http, admin, files.xlsx(["42"]), org_unit_id="hr")
        agent = f.agent(tenant, org_unit_id="sales")
        listed = (await http.get(IMPORTS, headers=agent)).json()
        assert [t["id"] for t in listed["items"]] == [sales["id"]]
        for path in (f"{IMPORTS}/{hr['id']}", f"{IMPORTS}/{hr['id']}/result"):
            assert (await http.get(path, headers=agent)).status_code == 404

    async def test_importing_needs_the_import_permission(self, http: httpx.AsyncClient) -> None:
        tenant, _ = await import_tenant(http)
        agent = f.agent(tenant, permissions=["caller_number:add"])
        response = await http.post(
            IMPORTS, files={"file": ("a.xlsx", files.xlsx(["1"]))}, headers=agent
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"


async def registry_waits_on_a_lock(db: asyncpg.Pool, holder_pid: int) -> None:
    """Until a backend waits on the lock that the connection `holder_pid` holds."""
    async for _ in deadline(30):
        waiting = await db.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND $1 = ANY(pg_blocking_pids(pid))",
            holder_pid,
        )
        if waiting:
            return
    raise AssertionError("the registry never reached the blocked row")


class TestCancel:
    async def test_a_cancelled_import_keeps_applied_rows_and_reports_the_rest_not_processed(
        self, http: httpx.AsyncClient, db: asyncpg.Pool, backing: Backing
    ) -> None:
        tenant, admin = await import_tenant(http)
        numbers = [f"1999{n:07d}" for n in range(50)]
        # Hold the first number uncommitted: the registry's first batch waits on it.
        async with db.acquire() as conn:
            blocker = conn.transaction()
            await blocker.start()
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            await conn.execute(
                "INSERT INTO caller_number (tenant_id, number) VALUES ($1, $2)", tenant, numbers[0]
            )
            task = await upload(http, admin, files.xlsx(numbers))
            await registry_waits_on_a_lock(db, conn.get_server_pid())
            response = await http.post(f"{IMPORTS}/{task['id']}/cancel", headers=admin)
            assert response.status_code == 200 and response.json()["status"] == "cancelling"
            # A row in flight has no line yet: no report until every row has one.
            early = await http.get(f"{IMPORTS}/{task['id']}/result", headers=admin)
            assert early.status_code == 409 and early.json()["error"]["code"] == "not_finished"
            await blocker.rollback()
        done = await finished(http, admin, task["id"])
        assert done["status"] == "cancelled"
        # The rows of numbers[0]'s partition come in file order: the batch the registry was
        # writing (the first chunk's rows of that partition, 10 rows a partition in the test
        # services) succeeds, that partition's later rows come after the cancel. Batches of
        # other partitions may have been written before the blocked one, or answered after.
        partitions = await partition_count(backing.settings(), topics.IMPORT_ROWS)
        blocked = partition_of(numbers[0], partitions)
        in_blocked = [n for n in numbers if partition_of(n, partitions) == blocked]
        written = [n for n in numbers[: 10 * partitions] if n in in_blocked]
        lines = await report(http, admin, task["id"])
        succeeded = [line[1] for line in lines[1:] if line[2] == "success"]
        assert [n for n in succeeded if n in in_blocked] == written
        assert done["counters"]["succeeded"] == len(succeeded) >= len(written)
        assert done["counters"]["not_processed"] == 50 - len(succeeded)
        assert done["counters"]["failed"] == 0 and done["counters"]["rows_read"] == 50
        # Every row not written is reported not processed for the cancel: at least that
        # partition's rows after the blocked batch (other partitions' consumers run beside it).
        not_written = {line[1]: line[3] for line in lines[1:] if line[2] != "success"}
        after_blocked = [n for n in in_blocked if n not in written]
        assert after_blocked and set(after_blocked) <= set(not_written)
        assert all("cancelled" in (reason or "") for reason in not_written.values())
        again = await http.post(f"{IMPORTS}/{task['id']}/cancel", headers=admin)
        assert again.status_code == 409 and again.json()["error"]["code"] == "not_running"

    async def test_a_result_delivered_again_is_not_counted_twice(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer
    ) -> None:
        tenant, admin = await import_tenant(http)
        task = await upload(http, admin, files.xlsx(["61", "62"]))
        before = await finished(http, admin, task["id"])
        again = ImportRowsApplied(
            tenant_id=tenant,
            principal=Principal(sub="x", role=Role.SERVICE),
            task_id=task["id"],
            results=[ImportRowResult(row_number=2, as_written="61", succeeded=False, reason="x")],
        )
        await producer.send_and_wait(
            topics.IMPORT_ROW_RESULTS, again.model_dump_json().encode(), key=tenant.encode()
        )
        # A later import of the same tenant shares the partition: once it is done, so is that.
        later = await upload(http, admin, files.xlsx(["63"]))
        await finished(http, admin, later["id"])
        after = (await http.get(f"{IMPORTS}/{task['id']}", headers=admin)).json()
        assert after["counters"] == before["counters"]
        assert (await report(http, admin, task["id"]))[1][2] == "success"
