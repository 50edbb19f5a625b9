"""The tenant's quota of caller numbers end to end: a system administrator sets it, adds and
imports stop at it with quota_exceeded, GET /me shows used / allowed."""

import io
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from openpyxl import load_workbook

from shared import topics
from tests import factories as f
from tests import files
from tests.e2e.test_imports import IMPORTS, finished, upload
from tests.kafka import TopicTap
from tests.signing import signed


async def set_quota(http: httpx.AsyncClient, tenant: str, quota: int | None) -> Any:
    response = await http.patch(
        f"/api/v1/admin/tenants/{tenant}",
        json={"max_caller_numbers": quota},
        headers=f.system_admin(),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def usage(http: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    return (await http.get("/api/v1/me", headers=headers)).json()["caller_numbers"]


class TestQuota:
    async def test_adds_past_the_quota_fail_one_by_one_naming_used_and_allowed(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        assert await usage(http, admin) == {"used": 0, "allowed": None}
        assert (await set_quota(http, tenant, 2))["max_caller_numbers"] == 2
        results = (await f.add_numbers(http, admin, ["1", "2", "3"]))["results"]
        assert [r["status"] for r in results] == ["created", "created", "rejected"]
        assert results[2]["reason"] == "quota_exceeded"
        assert "2 of 2" in results[2]["message"]
        assert await usage(http, admin) == {"used": 2, "allowed": 2}

    async def test_import_rows_past_the_quota_fail_and_the_report_says_why(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        await set_quota(http, tenant, 3)
        await f.add_numbers(http, admin, ["500"])
        task = await upload(
            http,
            admin,
            files.csv(["Caller Number", "501", "500", "502", "503", "504"]),
            name="q.csv",
        )
        done = await finished(http, admin, task["id"])
        assert done["status"] == "completed"
        assert (done["counters"]["succeeded"], done["counters"]["failed"]) == (2, 3)
        report = await http.get(f"{IMPORTS}/{task['id']}/result", headers=admin)
        sheet = load_workbook(io.BytesIO(report.content), read_only=True).active
        assert sheet is not None
        reasons = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert reasons[0] in ("", None) and reasons[2] in ("", None)
        assert "already registered" in str(reasons[1])
        assert all("quota is reached" in str(reason) for reason in reasons[3:])
        assert await usage(http, admin) == {"used": 3, "allowed": 3}

    async def test_the_quota_is_the_system_administrator_s_and_null_makes_it_unlimited(
        self, http: httpx.AsyncClient
    ) -> None:
        tenant = await f.create_tenant(http)
        admin = f.tenant_admin(tenant)
        refused = await http.patch(
            f"/api/v1/admin/tenants/{tenant}", json={"max_caller_numbers": 5}, headers=admin
        )
        assert refused.status_code == 403
        bad = await http.patch(
            f"/api/v1/admin/tenants/{tenant}",
            json={"max_caller_numbers": -1},
            headers=f.system_admin(),
        )
        assert bad.status_code == 422
        await set_quota(http, tenant, 0)
        renamed = await http.patch(
            f"/api/v1/admin/tenants/{tenant}", json={"name": "Renamed"}, headers=f.system_admin()
        )
        assert renamed.json()["max_caller_numbers"] == 0  # left out: kept
        [result] = (await f.add_numbers(http, admin, ["9"]))["results"]
        assert result["reason"] == "quota_exceeded"
        assert (await set_quota(http, tenant, None))["max_caller_numbers"] is None
        [result] = (await f.add_numbers(http, admin, ["9"]))["results"]
        assert result["status"] == "created"

    async def test_a_tenant_created_with_a_quota_has_it(self, http: httpx.AsyncClient) -> None:
        tenant_id = f.unique("tenant")
        body = {
            "id": tenant_id,
            "name": "Q",
            "calling_number_anonymization": True,
            "max_caller_numbers": 10,
        }
        response = await http.post("/api/v1/admin/tenants", json=body, headers=f.system_admin())
        assert response.status_code == 201 and response.json()["max_caller_numbers"] == 10
        assert await usage(http, f.tenant_admin(tenant_id)) == {"used": 0, "allowed": 10}


class TestUpstreamSystems:
    async def test_a_create_on_kafka_past_the_quota_is_rejected_per_number_with_quota_exceeded(
        self, http: httpx.AsyncClient, producer: AIOKafkaProducer, events: TopicTap
    ) -> None:
        tenant = await f.create_tenant(http)
        await set_quota(http, tenant, 1)
        command = f.create_command(tenant, ["8101", "8102"])
        value = command.model_dump_json().encode()
        await producer.send_and_wait(
            topics.CALLER_NUMBER_COMMANDS, value, key=tenant.encode(), headers=signed(value)
        )
        found = await events.wait_for(
            lambda e: e.get("command_id") == str(command.message_id), count=2
        )
        by_type = {e["type"]: e for e in found}
        assert by_type["created"]["caller_number"]["number"] == "8101"
        rejected = by_type["rejected"]
        assert (rejected["number"], rejected["reason"]) == ("8102", "quota_exceeded")
        assert "1 of 1" in rejected["message"]
        history = await http.get("/api/v1/audit", headers=f.tenant_admin(tenant))
        [record] = history.json()["items"]
        assert (record["number"], record["principal_role"]) == ("8101", "service")
        assert record["principal_sub"] == by_type["created"]["principal"]["sub"]  # the verified
        assert record["command_id"] == str(command.message_id)
