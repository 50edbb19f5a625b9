from shared.access import Operation, TenantPolicy, may, org_scope, subtree, write_refusal
from shared.contracts import Principal, Role
from shared.rules import Reason

# root ─ sales ─ sales-east ─ sales-east-1
#      └ support
PARENTS: dict[str, str | None] = {
    "root": None,
    "sales": "root",
    "sales-east": "sales",
    "sales-east-1": "sales-east",
    "support": "root",
}


def agent(org_unit_id: str | None = "sales", **fields: object) -> Principal:
    return Principal(sub="a", role=Role.AGENT, org_unit_id=org_unit_id, **fields)  # type: ignore[arg-type]


def policy(**fields: object) -> TenantPolicy:
    values: dict[str, object] = {
        "tenant_id": "t",
        "anonymization_enabled": True,
        "isolation_enforced": True,
        "tenants_may_maintain": True,
        "parents": PARENTS,
    }
    return TenantPolicy(**{**values, **fields})  # type: ignore[arg-type]


class TestOrgScope:
    def test_the_subtree_holds_every_level_below(self) -> None:
        assert subtree("sales", PARENTS) == {"sales", "sales-east", "sales-east-1"}

    def test_an_isolated_agent_sees_own_ou_its_subtree_and_accessible_ous_only(self) -> None:
        scope = org_scope(
            agent(accessible_org_unit_ids=("support",)), isolation_enforced=True, parents=PARENTS
        )
        assert {u for u in PARENTS if scope.allows(u)} == {
            "sales",
            "sales-east",
            "sales-east-1",
            "support",
        }
        assert not scope.allows(None)

    def test_without_isolation_an_agent_sees_unorganized_and_every_ou(self) -> None:
        scope = org_scope(agent(), isolation_enforced=False, parents=PARENTS)
        assert scope.allows(None) and all(scope.allows(u) for u in PARENTS)

    def test_a_tenant_admin_sees_everything_whatever_the_isolation(self) -> None:
        admin = Principal(sub="x", role=Role.TENANT_ADMIN)
        scope = org_scope(admin, isolation_enforced=True, parents=PARENTS)
        assert scope.allows(None) and all(scope.allows(u) for u in PARENTS)

    def test_an_accessible_ou_of_another_tenant_grants_nothing(self) -> None:
        scope = org_scope(
            agent(None, accessible_org_unit_ids=("elsewhere",)),
            isolation_enforced=True,
            parents=PARENTS,
        )
        assert not scope.allows("elsewhere")


class TestPermissions:
    def test_an_agent_holds_only_granted_operations(self) -> None:
        principal = agent(permissions=(Operation.ADD.value,))
        assert may(principal, Operation.ADD) and not may(principal, Operation.DELETE)

    def test_a_tenant_admin_holds_every_operation(self) -> None:
        admin = Principal(sub="x", role=Role.TENANT_ADMIN)
        assert all(may(admin, op) for op in Operation)

    def test_a_system_admin_may_not_write_caller_numbers(self) -> None:
        assert not may(Principal(sub="x", role=Role.SYSTEM_ADMIN), Operation.ADD)


class TestWriteRefusal:
    def test_the_prerequisites_come_first(self) -> None:
        refusal = write_refusal(agent(), Operation.ADD, policy(tenants_may_maintain=False))
        assert refusal is not None and refusal.reason is Reason.FEATURE_DISABLED

    def test_an_unknown_ou_is_not_found_and_a_foreign_one_forbidden(self) -> None:
        principal = agent(permissions=(Operation.ADD.value,))
        unknown = write_refusal(principal, Operation.ADD, policy(), target_org_units=("nope",))
        foreign = write_refusal(principal, Operation.ADD, policy(), target_org_units=("support",))
        assert unknown is not None and unknown.reason is Reason.ORG_UNIT_NOT_FOUND
        assert foreign is not None and foreign.reason is Reason.FORBIDDEN_ORG_UNIT

    def test_a_missing_tenant_is_refused(self) -> None:
        refusal = write_refusal(agent(), Operation.ADD, None)
        assert refusal is not None and refusal.reason is Reason.TENANT_NOT_FOUND
