"""A JSON object that names a key twice is refused, never read with one of the two dropped."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api_gateway.strict_json import loads

keys = st.text(max_size=8)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)


def _object_with(pairs: list[tuple[str, Any]]) -> str:
    """A JSON object text with these pairs in this order, repeats kept (json.dumps drops them)."""
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs) + "}"


@given(document=values)
def test_json_without_a_repeated_key_reads_as_json_does(document: Any) -> None:
    text = json.dumps(document)
    assert loads(text.encode()) == json.loads(text)


@given(
    pairs=st.dictionaries(keys, values, min_size=1, max_size=4),
    repeated=st.data(),
    nested=st.booleans(),
)
def test_an_object_with_a_repeated_key_is_refused_naming_the_key(
    pairs: dict[str, Any], repeated: st.DataObject, nested: bool
) -> None:
    key = repeated.draw(st.sampled_from(sorted(pairs)))
    again = repeated.draw(values)
    text = _object_with([*pairs.items(), (key, again)])
    if nested:  # the repeat may hide anywhere in the body
        text = '{"outer": [1, ' + text + "]}"
    with pytest.raises(json.JSONDecodeError, match="appears more than once") as raised:
        loads(text.encode())
    assert repr(key) in raised.value.msg
