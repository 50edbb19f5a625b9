"""What the schema itself promises, on the real PostgreSQL: the caller number's checks and ids."""

import asyncio
import uuid

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.db.pool import tenant_transaction
from shared.settings import Settings

# The rule as migration 0001 wrote it; 0015 checks it without a regular expression.
PATTERN_CHECK = "SELECT s, s ~ '^[0-9]{1,24}$' FROM unnest($1::text[]) AS s"
TABLE_CHECK = (
    "SELECT s, char_length(s) BETWEEN 1 AND 24 AND ltrim(s, '0123456789') = '' "
    "FROM unnest($1::text[]) AS s"
)
# Digits of every script and the characters a cell or a client may carry around them.
_NEAR_DIGITS = st.text(
    alphabet=st.sampled_from(list("0123456789 +-.\u0661\uff11\u00b2\u2070\t\n\x7f")), max_size=30
)


@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(_NEAR_DIGITS, st.text(max_size=30)), min_size=1, max_size=40))
def test_the_number_check_accepts_exactly_what_the_digits_pattern_accepts(
    settings: Settings, pool: asyncpg.Pool, values: list[str]
) -> None:
    """`pool` migrates the database; each example connects on its own event loop."""
    values = [value.replace("\x00", "") for value in values]  # text cannot hold NUL

    async def both() -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return await conn.fetch(PATTERN_CHECK, values), await conn.fetch(TABLE_CHECK, values)
        finally:
            await conn.close()

    pattern, table = asyncio.run(both())
    assert [tuple(r) for r in table] == [tuple(r) for r in pattern]


@pytest.mark.parametrize(
    "number", ["", "1" * 25, "12 3", "\u0661\u0662\u0663", "+123", "\uff11\uff12"]
)
async def test_a_number_that_is_not_1_to_24_ascii_digits_cannot_be_stored(
    pool: asyncpg.Pool, tenant: str, number: str
) -> None:
    async with tenant_transaction(pool, tenant) as conn:
        with pytest.raises(asyncpg.CheckViolationError, match="caller_number_number_check"):
            await conn.execute(
                "INSERT INTO caller_number (tenant_id, number) VALUES ($1, $2)", tenant, number
            )


async def test_caller_number_ids_are_uuid_version_7_carrying_their_creation_time(
    pool: asyncpg.Pool, tenant: str
) -> None:
    """RFC 9562: the first 48 bits are the Unix time in milliseconds, so ids sort by creation."""
    now_ms = "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"  # as 0015
    created = []
    for number in ("0100", "0101", "0102"):
        async with tenant_transaction(pool, tenant) as conn:
            before = await conn.fetchval(now_ms)
            number_id = await conn.fetchval(
                "INSERT INTO caller_number (tenant_id, number) VALUES ($1, $2) RETURNING id",
                tenant,
                number,
            )
            after = await conn.fetchval(now_ms)
        created.append((before, number_id, after))
    for before, number_id, after in created:
        assert number_id.version == 7 and number_id.variant == uuid.RFC_4122
        assert before <= int.from_bytes(number_id.bytes[:6], "big") <= after
    times = [int.from_bytes(number_id.bytes[:6], "big") for _, number_id, _ in created]
    assert times == sorted(times)
