"""Dry runs ("Check file"), "Import for real" and the duplicate-file warning, end to end on real
Kafka and PostgreSQL."""

from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from shared import topics
from tests import factories as f
from tests import files
from tests.e2e.test_imports import IMPORTS, finished, import_tenant, report, upload
from tests.infra import Backing
from tests.kafka import tap

FULL = ("Caller Number", "Organization Unit", "Description")


async def listed_numbers(http: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    response = await http.get("/api/v1/caller-numbers?limit=100", headers=headers)
    assert response.status_code == 200, response.text
    return {n["number"] for n in response.json()["items"]}


async def import_for_real(
    http: httpx.AsyncClient, headers: dict[str, str], task_id: str, **params: str
) -> httpx.Response:
    return await http.post(f"{IMPORTS}/{task_id}/import", params=params, headers=headers)


class TestDryRun:
    async def test_a_dry_run_reports_every_rule_and_writes_nothing(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http, org_units=[("s", None)])
        await f.add_numbers(http, admin, ["0500"])
        rows = [("0501", None), ("0500", None), ("0501", None), ("12a", None), ("0502", "nope")]
        data = files.table(rows, header=FULL[:2])
        task = await upload(http, admin, data, dry_run="true")
        assert task["dry_run"] is True
        done = await finished(http, admin, task["id"])
        assert done["status"] == "completed" and done["dry_run"] is True
        assert (done["counters"]["succeeded"], done["counters"]["failed"]) == (1, 4)
        assert done["counters"]["duplicates"] == 2
        assert await listed_numbers(http, admin) == {"0500"}
        lines = await report(http, admin, task["id"])
        assert [(line[0], line[2]) for line in lines[1:]] == [
            (2, "success"),
            (3, "failure"),
            (4, "failure"),
            (5, "failure"),
            (6, "failure"),
        ]
        assert "row 2 added it" in lines[3][3]
        assert lines[5][3].startswith("No organization unit 'nope'")
        response = await http.get(f"{IMPORTS}/{task['id']}/result", headers=admin)
        assert "import-preview-" in response.headers["content-disposition"]

    async def test_import_for_real_imports_the_checked_file_and_marks_what_changed(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        data = files.xlsx(["0601", "0602", "0603"])
        preview = await finished(
            http, admin, (await upload(http, admin, data, dry_run="true"))["id"]
        )
        await f.add_numbers(http, admin, ["0602"])  # added between the check and the import
        response = await import_for_real(http, admin, preview["id"])
        assert response.status_code == 202, response.text
        task = response.json()
        assert task["preview_of"] == preview["id"] and task["dry_run"] is False
        done = await finished(http, admin, task["id"])
        assert (done["counters"]["succeeded"], done["counters"]["duplicates"]) == (2, 1)
        assert await listed_numbers(http, admin) == {"0601", "0602", "0603"}
        lines = await report(http, admin, task["id"])
        assert lines[0][-1] == "Changed since the check"
        assert [line[-1] for line in lines[1:]] == [None, "check: success", None]
        again = await import_for_real(http, admin, preview["id"])
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "already_imported"
        assert again.json()["error"]["details"] == {"task_id": task["id"]}
        listed = (await http.get(f"{IMPORTS}/{preview['id']}", headers=admin)).json()
        assert listed["imported_as"] == task["id"]

    async def test_only_a_completed_dry_run_can_be_imported(self, http: httpx.AsyncClient) -> None:
        _, admin = await import_tenant(http)
        real = await finished(http, admin, (await upload(http, admin, files.xlsx(["0701"])))["id"])
        response = await import_for_real(http, admin, real["id"])
        assert (response.status_code, response.json()["error"]["code"]) == (409, "not_a_dry_run")
        bad = files.csv(["Nope", "1"])
        failed = await finished(http, admin, (await upload(http, admin, bad, dry_run="1"))["id"])
        response = await import_for_real(http, admin, failed["id"])
        assert (response.status_code, response.json()["error"]["code"]) == (409, "not_finished")

    async def test_another_tenant_cannot_import_a_dry_run(self, http: httpx.AsyncClient) -> None:
        _, admin = await import_tenant(http)
        _, stranger = await import_tenant(http)
        preview = await upload(http, admin, files.xlsx(["0801"]), dry_run="true")
        await finished(http, admin, preview["id"])
        response = await import_for_real(http, stranger, preview["id"])
        assert response.status_code == 404

    async def test_import_for_real_needs_the_import_permission_and_the_dry_runs_ou(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http, isolation=True, org_units=[("a", None), ("b", None)])
        admin = f.tenant_admin(tenant)
        data = files.xlsx(["0851"])
        preview = await upload(http, admin, data, dry_run="true", org_unit_id="b")
        await finished(http, admin, preview["id"])
        reader = f.agent(tenant, org_unit_id="b", permissions=["caller_number:edit"])
        response = await import_for_real(http, reader, preview["id"])
        assert (response.status_code, response.json()["error"]["code"]) == (
            403,
            "permission_denied",
        )
        outsider = f.agent(tenant, org_unit_id="a")
        assert (await import_for_real(http, outsider, preview["id"])).status_code == 404

    async def test_a_dry_run_flag_that_is_no_boolean_is_refused(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        response = await http.post(
            IMPORTS,
            files={"file": ("n.csv", b"Caller Number\r\n1\r\n")},
            data={"dry_run": "maybe"},
            headers=admin,
        )
        assert response.status_code == 422 and "dry_run" in response.json()["error"]["message"]


class TestDuplicateFile:
    async def test_the_same_bytes_again_ask_for_confirmation_naming_the_earlier_task(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        data = files.xlsx(["0901", "0902"])
        first = await finished(http, admin, (await upload(http, admin, data))["id"])
        response = await http.post(IMPORTS, files={"file": ("again.xlsx", data)}, headers=admin)
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "duplicate_file"
        earlier: dict[str, Any] = error["details"]["earlier_task"]
        assert earlier["id"] == first["id"] and earlier["counters"]["succeeded"] == 2
        assert earlier["created_at"] == first["created_at"]
        listed = (await http.get(IMPORTS, headers=admin)).json()
        assert listed["total"] == 1  # nothing stored
        confirmed = await upload(http, admin, data, confirm_duplicate="true")
        done = await finished(http, admin, confirmed["id"])
        assert done["counters"]["duplicates"] == 2

    async def test_a_dry_run_or_a_failed_import_does_not_count_as_imported(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        data = files.xlsx(["1001"])
        await finished(http, admin, (await upload(http, admin, data, dry_run="true"))["id"])
        await finished(http, admin, (await upload(http, admin, data))["id"])
        bad = files.csv(["Nope", "1"])
        await finished(http, admin, (await upload(http, admin, bad))["id"])
        await upload(http, admin, bad)  # failed before: no warning

    async def test_another_tenants_import_of_the_same_file_is_no_duplicate(
        self, http: httpx.AsyncClient
    ) -> None:
        data = files.xlsx(["1101"])
        for _ in range(2):
            _, admin = await import_tenant(http)
            await finished(http, admin, (await upload(http, admin, data))["id"])

    async def test_import_for_real_of_a_file_imported_since_asks_too(
        self, http: httpx.AsyncClient
    ) -> None:
        _, admin = await import_tenant(http)
        data = files.xlsx(["1201"])
        preview = await finished(
            http, admin, (await upload(http, admin, data, dry_run="true"))["id"]
        )
        await finished(http, admin, (await upload(http, admin, data))["id"])
        response = await import_for_real(http, admin, preview["id"])
        assert (response.status_code, response.json()["error"]["code"]) == (409, "duplicate_file")
        response = await import_for_real(http, admin, preview["id"], confirm_duplicate="true")
        assert response.status_code == 202, response.text


class TestOnKafka:
    async def test_a_dry_runs_row_batches_and_lifecycle_events_say_so(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, backing: Backing
    ) -> None:
        _, admin = await import_tenant(http)
        settings = backing.settings()
        async with (
            tap(settings, topics.IMPORT_EVENTS, producer) as events,
            tap(settings, topics.IMPORT_ROWS, producer) as rows,
        ):
            header = ("Caller Number", "Description")
            data = files.table([("1301", "spring"), ("1302", None)], header=header)
            task = await upload(http, admin, data, dry_run="true")

            def mine(message: dict[str, Any]) -> bool:
                return bool(message.get("task_id") == task["id"])

            (batch,) = await rows.wait_for(mine, within=90)
            assert batch["dry_run"] is True
            assert [(r["number"], r.get("description")) for r in batch["rows"]] == [
                ("1301", "spring"),
                ("1302", None),
            ]
            (completed,) = await events.wait_for(
                lambda m: mine(m) and m["type"] == "import_completed", within=90
            )
        assert completed["dry_run"] is True and completed["counters"]["succeeded"] == 2
