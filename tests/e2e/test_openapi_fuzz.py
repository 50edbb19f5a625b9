"""Every operation of the OpenAPI document, fuzzed by schemathesis on the real gateway: no input
gets a 5xx, and every answer has a documented status and matches its documented schema.

OPENAPI_FUZZ_EXAMPLES (default 15) caps the examples per operation; the figure tried is
written to test-output/openapi-fuzz.json.
"""

import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from services.api_gateway.main import create_app
from shared.db.tenants import TENANTS_MAY_MAINTAIN
from shared.settings import get_settings
from tests import factories as f
from tests.conftest import OUTPUT
from tests.processes import ServiceProcess

EXAMPLES = int(os.environ.get("OPENAPI_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module")
def gateway(services: dict[str, ServiceProcess]) -> Iterator[str]:
    yield services["api_gateway"].url
    figure = {"operations": len(TRIED), "examples": sum(TRIED.values()), "per_operation": TRIED}
    (OUTPUT / "openapi-fuzz.json").write_text(json.dumps(figure, indent=2, sort_keys=True))
    print(f"\nschemathesis: {figure['operations']} operations, {figure['examples']} examples")


@pytest.fixture(scope="module")
async def callers(http: httpx.AsyncClient) -> Iterator[dict[str, dict[str, str]]]:
    """A tenant with an OU and a number, its administrator, and the system administrator."""
    tenant = await f.create_tenant(http, org_units=[("sales", None)])
    admin = f.tenant_admin(tenant)
    await f.add_numbers(http, admin, ["02150001234"], org_unit_id="sales")
    yield {"tenant": admin, "system": f.system_admin()}
    # A generated PUT may have turned the prerequisite off: the rest of the suite needs it on.
    response = await http.put(
        f"/api/v1/admin/system-parameters/{TENANTS_MAY_MAINTAIN}",
        json={"value": True},
        headers=f.system_admin(),
    )
    assert response.status_code == 200


# The document the gateway serves at /openapi.json, built in process so that pytest sees one
# test per operation (schemathesis' lazy from_fixture does not run on pytest 9).
schema = schemathesis.openapi.from_dict(create_app(get_settings()).openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_gets_a_server_error_or_an_undocumented_answer(
    case: Any, gateway: str, callers: dict[str, dict[str, str]]
) -> None:
    who = "system" if case.path.startswith("/api/v1/admin/") else "tenant"
    TRIED[case.operation.label] += 1
    case.call_and_validate(base_url=gateway, headers=callers[who], checks=CHECKS, timeout=30)
