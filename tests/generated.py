"""Hypothesis strategies for the inputs nobody on the team writes, and a way to draw them.

`draw_examples` gives GENERATED_EXAMPLES examples (default 20) to a test that sends each one to
the real services; raise it locally to search harder.
"""

import os
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from shared.contracts import Role
from shared.rules import ADD_MAX_DIGITS

T = TypeVar("T")
# For the tests that send each example to the real services (@given tests follow the
# hypothesis profile loaded in tests/conftest.py).
EXAMPLES = int(os.environ.get("GENERATED_EXAMPLES", "20"))

digits = st.text(alphabet="0123456789", min_size=1, max_size=ADD_MAX_DIGITS)
# Odd separators, letters, signs, full-width and Arabic-Indic digits: what a number is not.
_NOT_DIGITS = st.sampled_from(list("+-. ()/x#*,;_\u00a0\u3000\uff11\u0661\u00b2aZ\t"))


@st.composite
def _not_digits(draw: st.DrawFn) -> str:
    # Between digits, so that trimming the blanks around a number cannot make it valid.
    head = draw(st.text("0123456789", min_size=1, max_size=8))
    tail = draw(st.text("0123456789", min_size=1, max_size=8))
    return head + draw(_NOT_DIGITS) + tail


# Each kind of number a person may type into the Add form, with the reason it must get.
NUMBER_KINDS: dict[str | None, st.SearchStrategy[str]] = {
    None: digits.map(lambda d: d.center(len(d) + 2)),  # surrounding blanks are trimmed
    "empty": st.sampled_from(["", " ", "\t", "  \u00a0 ".strip(" ")]).filter(
        lambda s: not s.strip()
    ),
    "not_digits": _not_digits(),
    "too_long": st.text("0123456789", min_size=ADD_MAX_DIGITS + 1, max_size=64),
}


@st.composite
def number_requests(draw: st.DrawFn) -> list[tuple[str, str | None]]:
    """1 to 12 numbers with the reason each should get; some repeat an earlier valid one."""
    picked: list[tuple[str, str | None]] = []
    for _ in range(draw(st.integers(1, 12))):
        valid = [number for number, reason in picked if reason is None]
        if valid and draw(st.booleans()):
            picked.append((draw(st.sampled_from(valid)), "repeated_in_request"))
            continue
        reason = draw(st.sampled_from(list(NUMBER_KINDS)))
        number = draw(NUMBER_KINDS[reason])
        if reason is None and number.strip() in {n.strip() for n, r in picked if r is None}:
            reason = "repeated_in_request"
        picked.append((number, reason))
    return picked


# Text that neither PostgreSQL nor JSON can hold, hidden among ordinary characters.
unstorable_text = st.builds(
    lambda head, bad, tail: head + bad + tail,
    st.text(max_size=5).filter(lambda s: "\x00" not in s),
    st.sampled_from(["\x00", "\ud83d", "\udc00", "\ud800\ud800"]),
    st.text(max_size=5),
)

# Numbers as people write them in a search box, and text that is no number at all.
typed_numbers = st.builds(
    lambda plus, parts: plus + "".join(parts),
    st.sampled_from(["", "+"]),
    st.lists(
        st.one_of(st.text("0123456789", min_size=1, max_size=4), st.sampled_from(list(" -.()"))),
        max_size=8,
    ),
).filter(lambda typed: sum(c.isdigit() for c in typed) <= ADD_MAX_DIGITS)
not_numbers = st.text(min_size=1, max_size=10).filter(
    lambda s: any(c not in "0123456789 -.()+" for c in s.strip()) or "+" in s.strip()[1:]
)

_json_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=10)
_json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _json_text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


def extra_fields(known: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    """1 to 3 fields a newer producer might add: names the message does not know, any values."""
    names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
        lambda name: name not in known
    )
    return st.dictionaries(names, _json_values, min_size=1, max_size=3)


def draw_examples(strategy: st.SearchStrategy[T], count: int = EXAMPLES) -> list[T]:
    """`count` examples of the strategy, for a test that cannot run inside @given (an async
    test on real services sends each one); the explicit kinds come from the strategy itself."""
    found: list[T] = []

    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(strategy)
    def collect(example: T) -> None:
        found.append(example)

    collect()
    return found


# Known fields of a caller-number command given a value of the wrong type (or meaning).
_WRONG_VALUES: dict[str, list[Any]] = {
    "type": ["upsert", "CREATE", "", "\x00", 1, None],
    "numbers": ["123", 5, [], [1, 2], {"n": "1"}, None, ["1"] * 101],
    "org_unit_id": [5, [], {}, True],
    "description": [5, None, [], {}],
    "principal": ["crm", {}, {"sub": "crm"}, {"sub": "crm", "role": "god"}, None],
    "occurred_at": ["yesterday", None, "2025-13-45T00:00:00Z"],
    "schema_version": [2, 0, None],
}
_one_wrong_field = st.sampled_from(sorted(_WRONG_VALUES)).flatmap(
    lambda name: st.sampled_from(_WRONG_VALUES[name]).map(lambda value: {name: value})
)
# 1 to 3 known fields made wrong at once.
wrong_fields = st.lists(_one_wrong_field, min_size=1, max_size=3).map(
    lambda parts: {k: v for part in parts for k, v in part.items()}
)


# A field of a signed command given another value after it was signed: each must break the
# signature (the caller skips a value equal to the one signed).
_TAMPERED: dict[str, st.SearchStrategy[Any]] = {
    "message_id": st.uuids().map(str),
    "tenant_id": st.text("abcdefghij-", min_size=1, max_size=12),
    "principal": st.fixed_dictionaries(
        {"sub": st.text(min_size=1, max_size=5), "role": st.sampled_from([r.value for r in Role])}
    ),
    "numbers": st.lists(digits, min_size=1, max_size=3),
    "org_unit_id": st.sampled_from(["sales", "support", None]),
    "description": st.text(max_size=10),
    "occurred_at": st.datetimes().map(lambda at: at.isoformat() + "Z"),
}
tampered_fields = st.sampled_from(sorted(_TAMPERED)).flatmap(
    lambda name: _TAMPERED[name].map(lambda value: (name, value))
)
