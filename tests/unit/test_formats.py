"""What a number format displays: any code and any stored value give digits or a reason."""

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.import_worker.filetypes import Refused
from services.import_worker.formats import NumberFormat, format_code
from shared.rules import Reason

EPOCH = datetime(1899, 12, 30)
# The characters format codes are made of, so that generated codes hit every branch.
codes = st.text(alphabet='0#?.,;%Ee+-/@"\\[]$€*_ hmsdyGeneralRd<>=', max_size=24)
stored = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["NaN", "INF", "-inf", "1e999", "", "x", "1E+10", "0.0", "-0"]),
)


@given(codes, stored)
def test_any_format_and_value_give_digits_or_a_reason_never_an_error(code: str, text: str) -> None:
    shown = NumberFormat(code).show(text, EPOCH)
    if isinstance(shown, Refused):
        assert shown.rejection.message
    else:
        assert shown == "" or shown.isdecimal()
        assert int(shown or "0") == float(text)  # the digits are the value's, never altered


@given(st.integers(min_value=0, max_value=10**15 - 1), st.integers(min_value=1, max_value=20))
def test_zero_padding_shows_the_value_padded_to_the_count_of_zeros(value: int, zeros: int) -> None:
    assert NumberFormat("0" * zeros).show(str(value), EPOCH) == str(value).zfill(zeros)


@pytest.mark.parametrize(
    ("format_id", "code"),
    [
        ("0", "General"),
        ("1", "0"),
        ("3", "#,##0"),
        ("14", "mm-dd-yy"),
        ("49", "@"),
        ("31", "yyyy-mm-dd"),
        ("164", "General"),
        ("x", "General"),
    ],
)
def test_builtin_ids_are_excels_and_unknown_ones_general(format_id: str, code: str) -> None:
    assert format_code(format_id, {}) == code
    assert format_code(format_id, {format_id: "000"}) == "000"


@pytest.mark.parametrize(
    ("code", "says"),
    [
        ("0;-0;;@", "nothing"),
        ("[>100]0;0.0", "conditional"),
        ("0 ?/?", "fraction"),
        ("??????", "spaces"),
    ],
)
def test_zero_and_odd_sections_say_what_they_show(code: str, says: str) -> None:
    shown = NumberFormat(code).show("0", EPOCH)
    assert isinstance(shown, Refused) and shown.rejection.reason is Reason.NUMBER_NOT_TEXT
    assert says in shown.rejection.message


@given(codes, st.integers(min_value=0, max_value=10**16).map(str))
def test_the_fast_path_for_whole_numbers_agrees_with_the_full_rule(code: str, text: str) -> None:
    number_format = NumberFormat(code)
    assert number_format.show(text, EPOCH) == number_format._show(text, EPOCH)
