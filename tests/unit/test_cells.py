import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.import_worker.cells import check_cell, visible
from services.import_worker.filetypes import Cell, Refused
from shared.rules import Reason, Rejection


def reason(value: Cell) -> Reason | None:
    rejection = check_cell(value)[2]
    return rejection.reason if rejection else None


class TestTextCells:
    def test_text_is_kept_as_written_and_the_number_trimmed(self) -> None:
        assert check_cell(" 0123 ") == (" 0123 ", "0123", None)

    def test_leading_zeros_are_kept(self) -> None:
        assert check_cell("000861380013800")[1] == "000861380013800"

    def test_twenty_digits_pass_and_twenty_one_are_too_long(self) -> None:
        assert reason("1" * 20) is None
        assert reason("1" * 21) is Reason.TOO_LONG

    @pytest.mark.parametrize("value", [None, "", "   "])
    def test_an_empty_cell_is_empty(self, value: Cell) -> None:
        assert reason(value) is Reason.EMPTY
        assert check_cell(value)[0] == (value or "")

    @pytest.mark.parametrize(
        ("value", "named"),
        [("+8613800138000", "'+'"), ("138-0013", "'-'"), ("#N/A", "'#'"), ("2,150", "','")],
    )
    def test_anything_but_digits_is_refused_naming_the_first_other_character(
        self, value: str, named: str
    ) -> None:
        as_written, number, rejection = check_cell(value)
        assert as_written == number == value
        assert rejection is not None and rejection.reason is Reason.NOT_DIGITS
        assert named in rejection.message

    @pytest.mark.parametrize("value", ["1.38001E+10", "1,38001E+10", "2.15E+9", "1e+19"])
    def test_scientific_notation_gets_the_format_as_text_advice(self, value: str) -> None:
        rejection = check_cell(value)[2]
        assert rejection is not None and rejection.reason is Reason.NUMBER_NOT_TEXT
        assert "as Text" in rejection.message


class TestInvisibleCharacters:
    @pytest.mark.parametrize(
        ("value", "name"),
        [
            ("138\u200b00138000", "U+200B ZERO WIDTH SPACE"),
            ("\u202a13800138000\u202c", "U+202A LEFT-TO-RIGHT EMBEDDING"),
            ("\u200e13800138000", "U+200E LEFT-TO-RIGHT MARK"),
            ("\ufeff13800138000", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
            ("138\n00138000", "U+000A LINE FEED"),  # a CSV quote left open runs over lines
            ("138\x1b00138000", "U+001B ESCAPE"),
            ("138\u00a000138000", "U+00A0 NO-BREAK SPACE"),
            ("13800138000\r", None),  # trimmed like any whitespace at the ends
        ],
    )
    def test_an_invisible_character_is_named_and_shown(self, value: str, name: str | None) -> None:
        as_written, _, rejection = check_cell(value)
        if name is None:
            assert rejection is None
            return
        assert rejection is not None and rejection.reason is Reason.NOT_DIGITS
        assert name in rejection.message
        assert f"<{name.split()[0]}>" in as_written
        assert "13800138000" in as_written.replace(f"<{name.split()[0]}>", "")

    @given(st.characters(categories=["Cc", "Cf", "Co", "Cn", "Zs", "Zl", "Zp"]))
    def test_every_invisible_character_is_named_by_its_code_point(self, odd: str) -> None:
        assume(odd != " ")  # a visible space, named as ' '
        rejection = check_cell(f"138{odd}00138000")[2]
        assert rejection is not None and rejection.reason is Reason.NOT_DIGITS
        assert f"U+{ord(odd):04X} " in rejection.message
        assert "unnamed" not in rejection.message

    def test_visible_text_is_left_alone(self) -> None:
        assert visible("Müller 123") == "Müller 123"
        assert visible("1\u200b2") == "1<U+200B>2"


class TestRefusedCells:
    def test_a_refused_cell_keeps_what_it_shows_and_its_reason(self) -> None:
        rejection = Rejection(Reason.NUMBER_NOT_TEXT, "The cell shows a date.")
        assert check_cell(Refused("2024-01-02", rejection)) == (
            "2024-01-02",
            "2024-01-02",
            rejection,
        )

    def test_what_a_refused_cell_shows_is_capped_for_the_report(self) -> None:
        rejection = Rejection(Reason.NOT_DIGITS, "x")
        assert len(check_cell(Refused("1" * 5000, rejection))[0]) == 1000
