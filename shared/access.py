"""Who may do what: operation permissions and the organization units a principal may use."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shared.contracts import Principal, Role
from shared.rules import FEATURE_DISABLED, Reason, Rejection, prerequisites_met


class Operation(StrEnum):
    ADD = "caller_number:add"
    IMPORT = "caller_number:import"
    EDIT = "caller_number:edit"
    DELETE = "caller_number:delete"


# Roles that hold every operation and see every OU of their tenant.
_FULL_ACCESS = {Role.TENANT_ADMIN, Role.SERVICE}


def may(principal: Principal, operation: Operation) -> bool:
    if principal.role in _FULL_ACCESS:
        return True
    return principal.role is Role.AGENT and operation.value in principal.permissions


@dataclass(frozen=True)
class OrgScope:
    """The OUs a principal may choose and see; None (Unorganized) only if `unorganized`."""

    every_unit: bool
    unorganized: bool
    units: frozenset[str] = frozenset()

    def allows(self, org_unit_id: str | None) -> bool:
        if org_unit_id is None:
            return self.unorganized
        return self.every_unit or org_unit_id in self.units


NOTHING = OrgScope(every_unit=False, unorganized=False)
EVERYTHING = OrgScope(every_unit=True, unorganized=True)


def org_scope(
    principal: Principal, *, isolation_enforced: bool, parents: Mapping[str, str | None]
) -> OrgScope:
    """The manual's rule; `parents` maps each OU of the tenant to its parent OU."""
    if principal.role in _FULL_ACCESS:
        return EVERYTHING
    if principal.role is not Role.AGENT:
        return NOTHING
    if not isolation_enforced:
        return EVERYTHING
    units = set(principal.accessible_org_unit_ids)
    if principal.org_unit_id is not None:
        units |= subtree(principal.org_unit_id, parents)
    return OrgScope(every_unit=False, unorganized=False, units=frozenset(units & parents.keys()))


def subtree(root: str, parents: Mapping[str, str | None]) -> set[str]:
    """`root` and every OU below it."""
    children: dict[str, list[str]] = {}
    for unit, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(unit)
    found, stack = set(), [root]
    while stack:
        unit = stack.pop()
        if unit not in found:
            found.add(unit)
            stack.extend(children.get(unit, ()))
    return found


@dataclass(frozen=True)
class TenantPolicy:
    """What the rules need to know of a tenant, read in one go."""

    tenant_id: str
    anonymization_enabled: bool
    isolation_enforced: bool
    tenants_may_maintain: bool
    parents: dict[str, str | None]
    names: dict[str, str] = field(default_factory=dict)  # each OU's name, by its id

    def scope_of(self, principal: Principal) -> OrgScope:
        return org_scope(
            principal, isolation_enforced=self.isolation_enforced, parents=self.parents
        )


def write_refusal(
    principal: Principal,
    operation: Operation,
    policy: TenantPolicy | None,
    *,
    target_org_units: tuple[str | None, ...] = (),
) -> Rejection | None:
    """Why this principal may not do this write in this tenant, or None if it may."""
    if policy is None:
        return Rejection(Reason.TENANT_NOT_FOUND, "The tenant does not exist.")
    if not prerequisites_met(
        anonymization_enabled=policy.anonymization_enabled,
        tenants_may_maintain=policy.tenants_may_maintain,
    ):
        return FEATURE_DISABLED
    if not may(principal, operation):
        return Rejection(Reason.PERMISSION_DENIED, f"The permission {operation} is required.")
    scope = policy.scope_of(principal)
    for org_unit_id in target_org_units:
        if org_unit_id is not None and org_unit_id not in policy.parents:
            return Rejection(Reason.ORG_UNIT_NOT_FOUND, f"No organization unit {org_unit_id!r}.")
        if not scope.allows(org_unit_id):
            return Rejection(Reason.FORBIDDEN_ORG_UNIT, "You may not use this organization unit.")
    return None
