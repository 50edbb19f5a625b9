"""Where each import row goes: its own OU and description, or the upload's, checked row by row.

An Organization Unit cell holds an OU id, or the OU's path of names from the top of the tree,
`Sales / North`. Decisions: an id wins over a path that happens to read the same; names match
as users type them (case and runs of spaces do not matter); a path that names no OU, or more
than one (two sibling OUs of the same name), fails the row `org_unit_not_found` naming it: the
OU id tells them apart. An OU whose name holds "/" is reached by its id.
"""

from typing import NamedTuple

from shared.access import OrgScope, TenantPolicy
from shared.contracts import ImportRowRead
from shared.rules import Reason, Rejection, check_description

FORBIDDEN = Rejection(Reason.FORBIDDEN_ORG_UNIT, "You may not use this organization unit.")


class Target(NamedTuple):
    org_unit_id: str | None  # None: Unorganized
    description: str
    org_unit_path: str | None  # the OU's path of names, as the report shows it


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


class RowTargets:
    """One per batch: the tenant's OU tree, the principal's scope and the upload's defaults."""

    def __init__(
        self,
        policy: TenantPolicy,
        scope: OrgScope,
        *,
        org_unit_id: str | None,
        description: str,
    ) -> None:
        self._policy, self._scope = policy, scope
        self._default_org_unit, self._default_description = org_unit_id, description
        self._children: dict[tuple[str | None, str], list[str]] = {}
        for unit, parent in policy.parents.items():
            self._children.setdefault((parent, _key(policy.names.get(unit, ""))), []).append(unit)
        self._checked: dict[tuple[str | None, str | None], Target | Rejection] = {}

    def of(self, row: ImportRowRead) -> Target | Rejection:
        """Where the row goes, or why it may not; rows alike are checked once."""
        key = (row.org_unit, row.description)
        if (known := self._checked.get(key)) is None:
            known = self._checked[key] = self._check(*key)
        return known

    def _check(self, cell: str | None, description: str | None) -> Target | Rejection:
        org_unit = self._default_org_unit if cell is None else self.resolve(cell)
        if isinstance(org_unit, Rejection):
            return org_unit
        if org_unit is not None and org_unit not in self._policy.parents:
            return Rejection(Reason.ORG_UNIT_NOT_FOUND, f"No organization unit {org_unit!r}.")
        if not self._scope.allows(org_unit):
            return FORBIDDEN
        description = self._default_description if description is None else description
        if refusal := check_description(description):
            return refusal
        return Target(org_unit, description, self.path_of(org_unit))

    def asked(self, row: ImportRowRead) -> tuple[str | None, str]:
        """What the report shows of a row that was not written: its cells, else the upload's."""
        org_unit = (
            row.org_unit if row.org_unit is not None else self.path_of(self._default_org_unit)
        )
        description = self._default_description if row.description is None else row.description
        return org_unit, description

    def resolve(self, cell: str) -> str | Rejection:
        """The OU id the cell names, by id or by path of names, or why it names none."""
        if cell in self._policy.parents:
            return cell
        found: list[str | None] = [None]
        for name in cell.split("/"):
            found = [u for parent in found for u in self._children.get((parent, _key(name)), [])]
        shown = cell if len(cell) <= 100 else cell[:100] + "…"
        if not found or found[0] is None:
            message = f"No organization unit {shown!r}: write an OU id, or its path of names "
            message += "from the top, such as Sales / North."
            return Rejection(Reason.ORG_UNIT_NOT_FOUND, message)
        if len(found) > 1:
            message = f"{len(found)} organization units have the path {shown!r}: write the OU id."
            return Rejection(Reason.ORG_UNIT_NOT_FOUND, message)
        return found[0]

    def path_of(self, org_unit: str | None) -> str | None:
        """ "Sales / North" for the OU North under Sales; None for Unorganized."""
        names: list[str] = []
        seen: set[str] = set()
        while org_unit is not None and org_unit not in seen:  # a cycle cannot hang us
            seen.add(org_unit)
            names.append(self._policy.names.get(org_unit, org_unit))
            org_unit = self._policy.parents.get(org_unit)
        return " / ".join(reversed(names)) or None
