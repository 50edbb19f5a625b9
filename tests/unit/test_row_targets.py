"""Each import row's own OU and description, resolved and checked row by row."""

from services.number_registry.row_targets import RowTargets, Target
from shared.access import TenantPolicy
from shared.contracts import ImportRowRead, Principal, Role
from shared.rules import Reason, Rejection

POLICY = TenantPolicy(
    tenant_id="t",
    anonymization_enabled=True,
    isolation_enforced=True,
    tenants_may_maintain=True,
    parents={"s": None, "sn": "s", "ss": "s", "m": None, "mn1": "m", "mn2": "m"},
    names={
        "s": "Sales",
        "sn": "North",
        "ss": "South",
        "m": "Marketing",
        "mn1": "North",
        "mn2": "north",
    },
)
ADMIN = Principal(sub="a", role=Role.TENANT_ADMIN)
SALES_AGENT = Principal(sub="b", role=Role.AGENT, org_unit_id="s")


def targets(principal: Principal = ADMIN, org_unit_id: str | None = None) -> RowTargets:
    scope = POLICY.scope_of(principal)
    return RowTargets(POLICY, scope, org_unit_id=org_unit_id, description="default")


def row(org_unit: str | None = None, description: str | None = None) -> ImportRowRead:
    return ImportRowRead(
        row_number=2, number="1", as_written="1", org_unit=org_unit, description=description
    )


def placed(found: Target | Rejection) -> Target:
    assert isinstance(found, Target), found
    return found


def reason(found: Target | Rejection) -> str:
    assert isinstance(found, Rejection), found
    return found.reason


class TestOrgUnitCells:
    def test_an_id_or_a_path_of_names_names_the_ou(self) -> None:
        assert targets().of(row("sn")) == Target("sn", "default", "Sales / North")
        assert placed(targets().of(row("Sales / North"))).org_unit_id == "sn"

    def test_names_match_as_typed_case_and_spacing_aside(self) -> None:
        assert placed(targets().of(row("  sales/   NORTH "))).org_unit_id == "sn"

    def test_an_unknown_path_fails_the_row_naming_it(self) -> None:
        found = targets().of(row("Sales / East"))
        assert reason(found) == Reason.ORG_UNIT_NOT_FOUND
        assert isinstance(found, Rejection) and "'Sales / East'" in found.message

    def test_an_ambiguous_path_fails_the_row_asking_for_the_id(self) -> None:
        found = targets().of(row("Marketing / North"))
        assert reason(found) == Reason.ORG_UNIT_NOT_FOUND
        assert isinstance(found, Rejection) and "2 organization units" in found.message

    def test_each_row_is_checked_against_the_uploaders_scope(self) -> None:
        agent = targets(SALES_AGENT, org_unit_id="s")
        assert placed(agent.of(row("Sales / South"))).org_unit_id == "ss"
        assert reason(agent.of(row("Marketing"))) == Reason.FORBIDDEN_ORG_UNIT

    def test_an_empty_cell_takes_the_uploads_ou(self) -> None:
        assert targets(org_unit_id="m").of(row()) == Target("m", "default", "Marketing")
        assert targets().of(row()) == Target(None, "default", None)
        # An agent under isolation may not use Unorganized, as on the form.
        assert reason(targets(SALES_AGENT).of(row())) == Reason.FORBIDDEN_ORG_UNIT


class TestDescriptionCells:
    def test_a_description_cell_wins_over_the_uploads(self) -> None:
        assert placed(targets().of(row(description="mine"))).description == "mine"

    def test_too_long_or_hidden_characters_fail_the_row(self) -> None:
        assert reason(targets().of(row(description="x" * 256))) == Reason.DESCRIPTION_TOO_LONG
        assert reason(targets().of(row(description="a\u202eb"))) == Reason.DESCRIPTION_INVALID
        assert reason(targets().of(row(description="a\x85b"))) == Reason.DESCRIPTION_INVALID
