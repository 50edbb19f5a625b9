"""Which partition of the rows topic carries an import row: one import over many instances.

A row goes to the partition of its E.164 number's stable hash, so every row of one number
travels in one partition, in file order, whatever the interleaving across partitions. The
registry instance that holds that partition applies them in that order, and the decisions that
depend on order stay decided by row number, as with one instance: a number repeated in the file
is added by its first row and its later rows fail naming that row (number_registry/imports.py).

Hook for decisions that span numbers (a per-tenant quota: rows past it fail
`quota_exceeded`): no partition sees every row, so such a decision cannot be taken on
arrival at the registry. Take it where rows are still in file order, in the reader
(runner._send, before `by_partition`), e.g. by reserving the quota's remaining room for the
first valid rows by row number, and let the registry give back what a row did not use (a
duplicate): then "the rows past the quota" are the same rows whatever the interleaving.

The partition count is read from Kafka at each read pass; add partitions to the rows topic
only while no import runs (a resumed import would route a number elsewhere).
"""

import zlib

from shared.contracts import ImportRowRead


def partition_of(number: str, partitions: int) -> int:
    """The partition for this number: stable across processes and restarts (CRC-32, not
    Python's salted `hash`)."""
    return zlib.crc32(number.encode()) % partitions


def by_partition(rows: list[ImportRowRead], partitions: int) -> dict[int, list[ImportRowRead]]:
    """The rows grouped by partition, each group in the order given (file order)."""
    grouped: dict[int, list[ImportRowRead]] = {}
    for row in rows:
        grouped.setdefault(partition_of(row.number, partitions), []).append(row)
    return grouped
