"""scripts/kafka/acls.txt read as the broker reads it: who may do what on which topic and group."""

from typing import NamedTuple

from tests.infra import ROOT

ACLS = ROOT / "scripts" / "kafka" / "acls.txt"


class Grant(NamedTuple):
    principal: str
    operations: frozenset[str]
    topics: frozenset[str]
    groups: frozenset[str]
    group_prefixes: frozenset[str]


def read_grants() -> list[Grant]:
    grants = []
    for line in ACLS.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        principal, operations, *resources = fields
        grants.append(
            Grant(
                principal,
                frozenset(operations.split(",")),
                _named(resources, "topic:"),
                _named(resources, "group:"),
                _named(resources, "group-prefix:"),
            )
        )
    return grants


def _named(resources: list[str], kind: str) -> frozenset[str]:
    return frozenset(r.removeprefix(kind) for r in resources if r.startswith(kind))


def principals() -> list[str]:
    return sorted({grant.principal for grant in read_grants()})


def topics_allowed(principal: str, operation: str) -> frozenset[str]:
    """The topics on which `principal` may do `operation` (Read, Write, Create, Describe)."""
    return frozenset(
        topic
        for grant in read_grants()
        if grant.principal == principal and operation in grant.operations
        for topic in grant.topics
    )


def groups_allowed(principal: str) -> frozenset[str]:
    """The consumer groups (by exact name) in which `principal` may read and commit."""
    return frozenset(
        group
        for grant in read_grants()
        if grant.principal == principal and "Read" in grant.operations
        for group in grant.groups
    )
