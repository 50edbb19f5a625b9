"""PostgreSQL access: the pool, the migrations, and the repository functions."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias, TypeVar

import asyncpg

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

# A plain connection or one borrowed from a pool: the repository functions take either.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
T = TypeVar("T")


def sparse(values: Sequence[T], *, empty: T | None = None) -> Sequence[T] | None:
    """An array parameter for a multi-argument unnest, or None (a NULL array, which unnest pads
    with NULLs) when every value is `empty`: asyncpg encodes each element of an array (0.3 µs
    each, measured here), and most of an import's columns hold nothing. With `empty=""`, the
    statement reads the NULLs back as "" (coalesce)."""
    return None if values.count(empty) == len(values) else values
