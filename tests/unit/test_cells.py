from datetime import date, datetime, time, timedelta

import pytest

from services.import_worker.cells import check_cell
from services.import_worker.filetypes import Cell
from shared.rules import Reason


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

    @pytest.mark.parametrize("value", ["+8613800138000", "138-0013", "1.38E+10", "#N/A"])
    def test_anything_but_digits_is_refused(self, value: str) -> None:
        as_written, number, _ = check_cell(value)
        assert as_written == number == value
        assert reason(value) is Reason.NOT_DIGITS


class TestNumericCells:
    @pytest.mark.parametrize(
        ("value", "number"),
        [
            (13800138000, "13800138000"),
            (0, "0"),
            (999_999_999_999_999, "999999999999999"),
            (13800138000.0, "13800138000"),
            (1.3800138e10, "13800138000"),
        ],
    )
    def test_a_whole_number_excel_keeps_exactly_is_accepted(self, value: Cell, number: str) -> None:
        assert check_cell(value) == (number, number, None)

    @pytest.mark.parametrize(
        ("value", "written"),
        [
            (10**15, "1000000000000000"),
            (12345678901234567890, "12345678901234567890"),
            (-13800138000, "-13800138000"),
            (1.5, "1.5"),
            (1e15, "1000000000000000"),
            (1.2345678901234567e19, "1.2345678901234567e+19"),
            (-1.0, "-1"),
            (float("nan"), "nan"),
        ],
    )
    def test_a_number_excel_may_have_rounded_is_refused_as_written(
        self, value: Cell, written: str
    ) -> None:
        as_written, number, rejection = check_cell(value)
        assert (as_written, number) == (written, written)
        assert rejection is not None and rejection.reason is Reason.NUMBER_NOT_TEXT
        assert "as Text" in rejection.message and "scientific" in rejection.message


class TestOtherCells:
    @pytest.mark.parametrize(
        ("value", "written"),
        [
            (True, "TRUE"),
            (False, "FALSE"),
            (date(2024, 1, 2), "2024-01-02"),
            (datetime(2024, 1, 2, 3, 4), "2024-01-02T03:04:00"),
            (time(3, 4), "03:04:00"),
            (timedelta(hours=30), "1 day, 6:00:00"),
        ],
    )
    def test_a_boolean_date_or_time_is_not_digits(self, value: Cell, written: str) -> None:
        as_written, _, rejection = check_cell(value)
        assert as_written == written
        assert rejection is not None and rejection.reason is Reason.NOT_DIGITS
        assert "as Text" in rejection.message
