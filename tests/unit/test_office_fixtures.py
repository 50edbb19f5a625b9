"""The reader against what LibreOffice itself displays, on workbooks LibreOffice saved.

tests/fixtures/office/make.py wrote each NAME.xlsx with LibreOffice Calc and its "as shown" text
export NAME.csv: the text of each cell as the office suite displays it. No formatter of ours is
involved: a number the reader accepts must be exactly the digits LibreOffice shows, and a cell
that shows plain digits must be accepted, except where the reader refuses on purpose (a number
whose format hides its decimals, or one longer than the 15 digits Excel keeps).
"""

import csv
from pathlib import Path

import pytest

from services.import_worker.cells import check_cell, check_line
from services.import_worker.filetypes import FileLimits
from services.import_worker.readers import check_file, iter_lines, iter_rows

OFFICE = Path(__file__).parent.parent / "fixtures" / "office"
ON_PURPOSE = ("decimals", "15 digits")


def displayed(name: str) -> dict[int, str]:
    """Row number => the text LibreOffice displays in column A, for the non-empty data rows."""
    with (OFFICE / f"{name}.csv").open(encoding="utf-8", newline="") as file:
        lines = list(csv.reader(file))
    return {n: line[0] for n, line in enumerate(lines, start=1) if n > 1 and line and line[0]}


def read(path: Path) -> dict[int, tuple[str, str | None, str]]:
    """Row number => (number or as written, reason code, reason) as the import reports it."""
    limits = FileLimits()
    kind = check_file(path, limits)
    found = {}
    for row_number, cell in iter_rows(path, kind, limits):
        as_written, number, rejection = check_cell(cell)
        if rejection is None:
            found[row_number] = (number, None, "")
        else:
            found[row_number] = (as_written, rejection.reason.value, rejection.message)
    return found


@pytest.mark.parametrize("name", ["numbers", "formulas", "sheets"])
def test_what_the_reader_accepts_is_what_libreoffice_displays(name: str) -> None:
    shown = displayed(name)
    found = read(OFFICE / f"{name}.xlsx")
    assert set(found) == set(shown), "a row vanished or was invented"
    for row, text in shown.items():
        value, reason, message = found[row]
        if reason is None:
            assert value == text.strip(), f"row {row}: LibreOffice shows {text!r}"
        else:
            plain = text.strip().isdecimal()
            assert not plain or any(why in message for why in ON_PURPOSE), (
                f"row {row}: LibreOffice shows {text!r}, the reader refuses: {message}"
            )


def test_the_leading_zeros_libreoffice_shows_are_kept() -> None:
    found = read(OFFICE / "numbers.xlsx")
    assert found[8] == ("02150001234", None, "")
    assert found[12] == ("0012345", None, "")


def test_formulas_a_script_wrote_fail_until_an_office_suite_calculates_them() -> None:
    # The same workbook before LibreOffice saved it: XlsxWriter stored 0 and asked for a
    # recalculation, so no formula has a result the import could trust.
    source = read(OFFICE / "formulas.source.xlsx")
    assert {reason for _, reason, _ in source.values()} == {"formula_without_result"}
    assert set(source) == set(displayed("formulas"))


def test_the_sheet_read_is_the_one_libreoffice_shows_first() -> None:
    assert read(OFFICE / "sheets.source.xlsx") == read(OFFICE / "sheets.xlsx")
    assert read(OFFICE / "sheets.xlsx")[2] == ("13800138000", None, "")


def test_libreoffices_csv_and_unicode_text_exports_import_as_displayed() -> None:
    shown = displayed("numbers")
    as_csv = read(OFFICE / "numbers.csv")
    assert read(OFFICE / "numbers.utf16.txt") == as_csv  # UTF-16 with tabs reads the same
    assert set(as_csv) == set(shown)
    for row, text in shown.items():
        value, reason, _ = as_csv[row]
        digits = text.strip()
        assert (reason is None) == (digits.isdecimal() and len(digits) <= 20), row
        if reason is None:
            assert value == digits
    assert as_csv[7][1] == "number_not_text"  # 1.23456789012346E+017: format as Text


# What a refusal names for a display it does not reproduce: the reader renders digits only,
# and names any other number format by what it shows, with the stored value.
NAMED_AS = {
    "13%": "a percentage (0.125)",
    "2,150,001,234": "a number with thousands separators (2150001234)",
    "1E+020": "'1E+20'",  # as Excel shows it; LibreOffice pads the exponent
}


def test_ou_and_description_cells_are_taken_as_shown_or_refused_naming_what_they_show() -> None:
    """Each row's Organization Unit and Description, from a workbook LibreOffice saved, against
    its "as shown" export: text and plain digits are taken exactly as shown (trimmed; empty
    means the upload's own); anything else (a date, a decimal, a percentage, TRUE) fails its
    row with a reason naming the cell's column and what it shows."""
    with (OFFICE / "targets.csv").open(encoding="utf-8", newline="") as file:
        shown = {n: line for n, line in enumerate(csv.reader(file), start=1) if n > 1}
    path = OFFICE / "targets.xlsx"
    limits = FileLimits()
    checked = {
        n: check_line(line) for n, line in iter_lines(path, check_file(path, limits), limits)
    }
    assert set(checked) == set(shown), "a row vanished or was invented"
    for row, (number, org_unit, description) in shown.items():
        line = checked[row]
        assert line.number == number, f"row {row}"
        for column, value, text in (
            ("Organization Unit", line.org_unit, org_unit),
            ("Description", line.description, description),
        ):
            if line.rejection is not None and column in line.rejection.message:
                named = NAMED_AS.get(text.strip(), text.strip())
                assert named in line.rejection.message, f"row {row}: {line.rejection}"
                assert not text.strip().isdecimal(), f"row {row}: plain digits {text!r} refused"
            else:
                assert value == (text.strip() or None), f"row {row}: LibreOffice shows {text!r}"
