"""One tenant never sees or touches another's data: by id on every endpoint, and in the
database itself, where row-level security hides other tenants' rows from the services' role."""

import asyncpg
import httpx
import pytest

from shared.db.pool import tenant_transaction
from tests import factories as f
from tests import files
from tests.infra import Backing
from tests.waiting import deadline


async def tenant_with_data(http: httpx.AsyncClient) -> tuple[str, dict[str, str], str, str]:
    """A tenant with a number and a finished import: (tenant, headers, number id, task id)."""
    tenant = await f.create_tenant(http)
    admin = f.tenant_admin(tenant)
    body = await f.add_numbers(http, admin, ["6001"])
    response = await http.post(
        "/api/v1/caller-number-imports",
        files={"file": ("a.xlsx", files.xlsx(["6002"]))},
        headers=admin,
    )
    task_id = response.json()["id"]
    async for _ in deadline(30):  # finished: its result rows exist too
        task = await http.get(f"/api/v1/caller-number-imports/{task_id}", headers=admin)
        if task.json()["status"] == "completed":
            break
    return tenant, admin, body["results"][0]["caller_number"]["id"], task_id


class TestEveryEndpointById:
    async def test_another_tenants_ids_answer_404_and_change_nothing(
        self, http: httpx.AsyncClient
    ) -> None:
        _, owner, number_id, task_id = await tenant_with_data(http)
        intruder = f.tenant_admin(await f.create_tenant(http))
        number, task = (
            f"/api/v1/caller-numbers/{number_id}",
            f"/api/v1/caller-number-imports/{task_id}",
        )
        attempts = [
            await http.get(number, headers=intruder),
            await http.patch(number, json={"description": "mine"}, headers=intruder),
            await http.delete(number, headers=intruder),
            await http.get(task, headers=intruder),
            await http.get(f"{task}/result", headers=intruder),
            await http.post(f"{task}/cancel", headers=intruder),
        ]
        assert [a.status_code for a in attempts] == [404] * len(attempts)
        assert {a.json()["error"]["code"] for a in attempts} == {"not_found"}
        assert (await http.get(number, headers=owner)).json()["description"] == ""
        listed = await http.get("/api/v1/caller-number-imports", headers=intruder)
        assert listed.json()["total"] == 0


class TestRowLevelSecurity:
    async def test_a_query_without_a_tenant_filter_sees_only_its_own_tenant(
        self, http: httpx.AsyncClient, backing: Backing
    ) -> None:
        tenant_a, _, _, _ = await tenant_with_data(http)
        tenant_b, _, _, _ = await tenant_with_data(http)
        pool = await asyncpg.create_pool(backing.database_url, min_size=1, max_size=2)
        try:
            async with tenant_transaction(pool, tenant_a) as conn:
                seen = {
                    table: await conn.fetch(f"SELECT DISTINCT tenant_id FROM {table}")
                    for table in (
                        "caller_number",
                        "import_task",
                        "import_row_result",
                        "processed_command",
                    )  # import_file_chunk too has FORCE RLS (checked below); done files are gone
                }
            async with pool.acquire() as conn:
                no_tenant = await conn.fetchval("SELECT count(*) FROM caller_number")
        finally:
            await pool.close()
        assert {t: [r["tenant_id"] for r in rows] for t, rows in seen.items()} == {
            table: [tenant_a] for table in seen
        }
        assert no_tenant == 0
        assert tenant_b != tenant_a

    async def test_writing_another_tenants_row_is_refused_by_the_database(
        self, http: httpx.AsyncClient, backing: Backing
    ) -> None:
        tenant_a, tenant_b = await f.create_tenant(http), await f.create_tenant(http)
        conn = await asyncpg.connect(backing.database_url)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_a)
                    await conn.execute(
                        "INSERT INTO caller_number (tenant_id, number) VALUES ($1, '1')", tenant_b
                    )
        finally:
            await conn.close()

    async def test_the_services_role_owns_nothing_and_cannot_bypass_policies(
        self, backing: Backing
    ) -> None:
        conn = await asyncpg.connect(backing.database_url)
        try:
            role = await conn.fetchrow(
                "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
            owned = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                " AND tableowner = current_user"
            )
            forced = await conn.fetch(
                "SELECT relname FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = 'public'::regnamespace"
                " AND NOT (relrowsecurity AND relforcerowsecurity)"
            )
        finally:
            await conn.close()
        assert (role["rolsuper"], role["rolbypassrls"], owned) == (False, False, 0)
        # Tables without a tenant: the migrations' bookkeeping and the system parameters.
        assert sorted(r["relname"] for r in forced) == ["schema_migration", "system_parameter"]
