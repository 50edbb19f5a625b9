"""Which partition of the rows topic carries an import row: one import over many instances.

A row goes to the partition of its E.164 number's stable hash, so every row of one number
travels in one partition, in file order, whatever the interleaving across partitions. The
registry instance that holds that partition applies them in that order, and the decisions that
depend on order stay decided by row number, as with one instance: a number repeated in the file
is added by its first row and its later rows fail naming that row (number_registry/imports.py).

Decisions that span numbers (a per-tenant quota: rows past it fail `quota_exceeded`) cannot
be taken by row number when no partition sees every row. So an import of a tenant with a quota
goes whole to one partition (its tenant's), in file order: the rows past the quota are the
last ones by row number, whatever the instances; such an import is applied by one registry
instance at a time. Whether the tenant has a quota is read at each read pass: a quota set
while an import runs still bounds it (the registry's lock), and decides the rows read after.

The partition count is read from Kafka at each read pass; add partitions to the rows topic
only while no import runs (a resumed import would route a number elsewhere).
"""

import zlib

from shared.contracts import RowRead


def partition_of(number: str, partitions: int) -> int:
    """The partition for this number: stable across processes and restarts (CRC-32, not
    Python's salted `hash`)."""
    return zlib.crc32(number.encode()) % partitions


def by_partition(
    rows: list[RowRead], partitions: int, *, whole_to: int | None = None
) -> dict[int, list[RowRead]]:
    """The rows grouped by partition, each group in the order given (file order); all of them
    to the partition `whole_to` when given (a tenant with a quota)."""
    if whole_to is not None:
        return {whole_to: rows}
    grouped: dict[int, list[RowRead]] = {}
    for row in rows:
        grouped.setdefault(partition_of(row["number"], partitions), []).append(row)
    return grouped
