"""The optional Organization Unit and Description columns of an import file, read as the user
sees them, from files of two writers (openpyxl, XlsxWriter) and CSV."""

import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st

from services.import_worker.cells import CheckedLine, check_line
from services.import_worker.filetypes import BadFile, FileLimits
from services.import_worker.readers import check_file, iter_lines
from tests import files
from tests.unit.test_readers import write_xlsx

LIMITS = FileLimits()
FULL = ("Caller Number", "Organization Unit", "Description")
WRITERS: list[Callable[..., bytes]] = [files.table, files.table_by_xlsxwriter]


def lines(data: bytes, suffix: str = ".xlsx") -> list[tuple[int, CheckedLine]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return [
            (n, check_line(line)) for n, line in iter_lines(path, check_file(path, LIMITS), LIMITS)
        ]


def file_error(data: bytes) -> BadFile:
    with pytest.raises(BadFile) as raised:
        lines(data)
    return raised.value


@pytest.mark.parametrize("write", WRITERS)
class TestHeaders:
    def test_the_template_columns_give_each_row_its_ou_and_description(
        self, write: Callable[..., bytes]
    ) -> None:
        found = lines(write([("0123", "Sales / North", " spring ")], header=FULL))
        assert found == [(2, CheckedLine("0123", "0123", "Sales / North", "spring", None))]

    def test_headers_match_as_users_type_them_in_any_order(
        self, write: Callable[..., bytes]
    ) -> None:
        header = ("caller number", "  DESCRIPTION", "organisation   unit ")
        found = lines(write([("1", "note", "ou-1")], header=header))
        assert found[0][1][2:4] == ("ou-1", "note")

    def test_empty_cells_leave_the_upload_defaults(self, write: Callable[..., bytes]) -> None:
        found = lines(write([("1", None, None), ("2", " ", "")], header=FULL))
        assert [(c.org_unit, c.description, c.rejection) for _, c in found] == [
            (None, None, None),
            (None, None, None),
        ]

    def test_an_unrecognised_header_fails_the_file_naming_it(
        self, write: Callable[..., bytes]
    ) -> None:
        error = file_error(write([("1", "x")], header=("Caller Number", "Remarks")))
        assert error.code == "unexpected_columns"
        assert "column B" in str(error) and "'Remarks'" in str(error)

    def test_a_repeated_header_fails_the_file(self, write: Callable[..., bytes]) -> None:
        error = file_error(write([("1",)], header=("Caller Number", "Description", "description")))
        assert error.code == "unexpected_columns" and "column C" in str(error)

    def test_a_value_under_no_header_still_fails_its_row(self, write: Callable[..., bytes]) -> None:
        found = lines(write([("1", "ou", "d", "stray")], header=FULL))
        rejection = found[0][1].rejection
        assert rejection is not None and rejection.reason == "unexpected_columns"
        assert "column D" in rejection.message


class TestCellsAsShown:
    def test_a_numeric_ou_id_reads_as_the_digits_excel_shows(self) -> None:
        found = lines(files.table_by_xlsxwriter([("1", 1001, 42)], header=FULL))
        assert found[0][1][2:] == ("1001", "42", None)

    def test_a_zero_padded_ou_number_keeps_its_zeros(self) -> None:
        found = lines(_formatted_book({"B2": (7, "00000")}))
        assert found[0][1].org_unit == "00007"

    def test_a_date_in_the_description_fails_the_row_naming_the_column(self) -> None:
        found = lines(_formatted_book({"C2": (date(2024, 5, 1), "yyyy-mm-dd")}))
        rejection = found[0][1].rejection
        assert rejection is not None and rejection.reason == "description_invalid"
        assert "Description cell" in rejection.message

    def test_a_decimal_ou_fails_the_row_not_found(self) -> None:
        found = lines(_formatted_book({"B2": (1.5, None)}))
        rejection = found[0][1].rejection
        assert rejection is not None and rejection.reason == "org_unit_not_found"

    def test_a_formula_with_its_result_reads_as_the_result(self, tmp_path: Path) -> None:
        cell = '<c r="C2" t="str"><f>"camp"&amp;"aign"</f><v>campaign</v></c>'
        found = lines(_hand_written(tmp_path, cell))
        assert found[0][1].description == "campaign"

    def test_a_formula_without_a_result_fails_the_row(self, tmp_path: Path) -> None:
        found = lines(_hand_written(tmp_path, '<c r="B2"><f>1+1</f></c>'))
        rejection = found[0][1].rejection
        assert rejection is not None and rejection.reason == "formula_without_result"

    def test_a_bad_number_fails_first_whatever_the_other_cells(self) -> None:
        found = lines(files.table([("12a", "nowhere", "x" * 300)], header=FULL))
        checked = found[0][1]
        assert checked.rejection is not None and checked.rejection.reason == "not_digits"
        assert (checked.org_unit, checked.description) == ("nowhere", "x" * 300)


class TestCsv:
    def test_csv_columns_are_recognised_the_same(self) -> None:
        data = files.csv(["Caller Number;Description;Organization Unit", "0123;spring;Sales"])
        assert lines(data, ".csv")[0][1][2:] == ("Sales", "spring", None)

    def test_an_unrecognised_csv_header_fails_the_file(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "upload.csv"
            path.write_bytes(files.csv(["Caller Number,Notes", "1,x"]))
            with pytest.raises(BadFile, match="field 2 has the header 'Notes'"):
                list(iter_lines(path, check_file(path, LIMITS), LIMITS))

    def test_thousands_separators_still_fail_the_row_as_the_line_wrote_it(self) -> None:
        data = files.csv(["Caller Number,Description", "2,150,001,234"])
        checked = lines(data, ".csv")[0][1]
        assert checked.as_written == "2,150,001,234"
        assert checked.rejection is not None and checked.rejection.reason == "unexpected_columns"


cell_texts = st.text(
    st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=40
).filter(lambda text: text.strip() and not text.startswith("="))


@given(org_unit=cell_texts, description=cell_texts)
def test_both_writers_give_the_same_cells_the_user_typed(org_unit: str, description: str) -> None:
    """The kind: whatever text a user types in the two columns arrives trimmed, the same from
    either writer."""
    found = [lines(write([("1", org_unit, description)], header=FULL)) for write in WRITERS]
    assert found[0] == found[1]
    checked = found[0][0][1]
    assert (checked.org_unit, checked.description) == (org_unit.strip(), description.strip())


def _formatted_book(cells: dict[str, tuple[object, object]], *, formula: bool = False) -> bytes:
    """A1:C1 the template header, A2 "1"; each other cell a value with a number format (or, with
    `formula`, a formula with its cached result)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "book.xlsx"
        workbook = xlsxwriter.Workbook(str(path))
        sheet = workbook.add_worksheet()
        sheet.write_row(0, 0, FULL)
        sheet.write_string(1, 0, "1")
        for ref, (value, extra) in cells.items():
            if formula:
                sheet.write_formula(ref, str(value), None, extra)
            elif isinstance(value, date):
                sheet.write_datetime(ref, value, workbook.add_format({"num_format": extra}))
            else:
                style = workbook.add_format({"num_format": extra}) if extra else None
                sheet.write_number(ref, float(str(value)), style)
        workbook.close()
        return path.read_bytes()


def _hand_written(tmp_path: Path, cell: str) -> bytes:
    """A workbook written by hand: the template header, then row 2 with "1" and `cell`."""
    header = "".join(
        f'<c r="{col}1" t="inlineStr"><is><t>{title}</t></is></c>'
        for col, title in zip("ABC", FULL, strict=True)
    )
    row = f'<c r="A2" t="inlineStr"><is><t>1</t></is></c>{cell}'
    sheet = f'<row r="1">{header}</row><row r="2">{row}</row>'
    return write_xlsx(tmp_path, sheet).read_bytes()
