import codecs
import csv
import io
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from shared.spreadsheets import (
    MAX_CELL_CHARS,
    REPORT_HEADER,
    ReportRow,
    csv_report_chunk,
    formula_safe,
    template_xlsx,
    write_xlsx_report,
)

FORMULA_INJECTIONS = ["=1+1", "+1", "-1", "@SUM(A1)", '=HYPERLINK("http://evil.test","Click")']


def write_xlsx(path: Path, *chunks: Sequence[ReportRow]) -> list[tuple[object, ...]]:
    rows = [row for chunk in chunks for row in chunk]
    write_xlsx_report(path, rows, total_rows=len(rows))
    workbook = load_workbook(path, read_only=True)
    try:
        return list(workbook.active.values)
    finally:
        workbook.close()


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


class TestTemplate:
    def test_the_first_sheet_asks_for_caller_numbers_under_a_header(self) -> None:
        workbook = load_workbook(io.BytesIO(template_xlsx()))
        sheet = workbook.worksheets[0]
        assert sheet.title == "Caller Numbers"
        assert sheet["A1"].value == "Caller Number"

    def test_column_a_is_text_so_leading_zeros_survive(self) -> None:
        sheet = load_workbook(io.BytesIO(template_xlsx())).worksheets[0]
        column = sheet.column_dimensions["A"]
        assert column.number_format == "@"
        assert sheet["A1"].number_format == "@"
        assert column.width >= 20

    def test_the_instructions_sheet_states_the_rules(self) -> None:
        sheet = load_workbook(io.BytesIO(template_xlsx()))["Instructions"]
        text = "\n".join(str(row[0]) for row in sheet.values)
        for rule in ["0-9", "1 to 20 digits", "one caller number per row", "Text", "Blank rows"]:
            assert rule in text, rule
        assert "1,048,575 rows" in text

    def test_the_row_limit_stated_follows_the_argument(self) -> None:
        sheet = load_workbook(io.BytesIO(template_xlsx(max_rows=5000)))["Instructions"]
        assert any("5,000 rows" in str(row[0]) for row in sheet.values)


class TestXlsxReport:
    def test_a_report_reads_back_as_written(self, tmp_path: Path) -> None:
        rows = [
            (2, "0123", True, "", "", "", ""),
            (3, "00000000000000000001", True, "", "", "", ""),
            (5, "12a", False, "A caller number may hold digits 0-9 only.", "", "", ""),
        ]
        values = write_xlsx(tmp_path / "report.xlsx", rows)
        assert values[0] == REPORT_HEADER
        assert values[1:] == [
            (2, "0123", "success", None, None, None),
            (3, "00000000000000000001", "success", None, None, None),
            (5, "12a", "failure", "A caller number may hold digits 0-9 only.", None, None),
        ]

    def test_caller_numbers_are_string_cells_never_numbers(self, tmp_path: Path) -> None:
        path = tmp_path / "report.xlsx"
        write_xlsx(
            path,
            [
                (2, "0123", True, "", "", "", ""),
                (3, "1e5", False, "x", "", "", ""),
                (4, "TRUE", False, "x", "", "", ""),
            ],
        )
        numbers = [row[1] for row in load_workbook(path).active.iter_rows(min_row=2)]
        assert [(cell.value, cell.data_type) for cell in numbers] == [
            ("0123", "s"),
            ("1e5", "s"),
            ("TRUE", "s"),
        ]

    def test_formula_looking_values_stay_plain_strings(self, tmp_path: Path) -> None:
        path = tmp_path / "report.xlsx"
        rows = [
            (n + 2, value, False, value, "", "", "") for n, value in enumerate(FORMULA_INJECTIONS)
        ]
        write_xlsx(path, rows)
        sheet = load_workbook(path).active
        cells = [cell for row in sheet.iter_rows(min_row=2) for cell in (row[1], row[3])]
        expected = [(value, "s") for value in FORMULA_INJECTIONS for _ in range(2)]
        assert [(cell.value, cell.data_type) for cell in cells] == expected
        assert b"<f>" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")

    def test_control_characters_are_dropped_and_breaks_become_spaces(self, tmp_path: Path) -> None:
        path = tmp_path / "report.xlsx"
        values = write_xlsx(
            path,
            [(2, "12\x003\x074", False, "\t=1", "", "", ""), (3, "a\r\nb", False, "x", "", "", "")],
        )
        assert values[1][1:4:2] == ("1234", " =1")
        assert values[2][1] == "a  b"
        assert b"<f>" not in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")

    def test_an_extremely_long_value_is_capped(self, tmp_path: Path) -> None:
        values = write_xlsx(
            tmp_path / "report.xlsx", [(2, "9" * 50_000, False, "too long", "", "", "")]
        )
        number = values[1][1]
        assert isinstance(number, str)
        assert number.startswith("9" * MAX_CELL_CHARS) and len(number) == MAX_CELL_CHARS + 1

    def test_chunks_of_many_rows_arrive_all_and_in_order(self, tmp_path: Path) -> None:
        rows = [
            (n + 2, f"{n:08d}", n % 3 != 0, "" if n % 3 else "duplicate", "", "", "")
            for n in range(12_000)
        ]
        chunks = [rows[start : start + 5000] for start in range(0, len(rows), 5000)]
        values = write_xlsx(tmp_path / "report.xlsx", *chunks, [])
        assert len(values) == 1 + len(rows)
        assert [(row[0], row[1]) for row in values[1:]] == [(n, number) for n, number, *_ in rows]
        assert values[-1] == (12_001, "00011999", "success", None, None, None)
        assert values[-2] == (12_000, "00011998", "success", None, None, None)
        assert values[-3] == (11_999, "00011997", "failure", "duplicate", None, None)


class TestCsvReport:
    def test_the_header_chunk_starts_with_a_bom_and_later_chunks_do_not(self) -> None:
        first = csv_report_chunk([(2, "1", True, "", "", "", "")], header=True)
        later = csv_report_chunk([(3, "2", True, "", "", "", "")], header=False)
        assert first.startswith(codecs.BOM_UTF8)
        assert not later.startswith(codecs.BOM_UTF8)
        assert read_csv(first + later) == [
            list(REPORT_HEADER),
            ["2", "1", "success", "", "", ""],
            ["3", "2", "success", "", "", ""],
        ]

    def test_lines_end_with_crlf(self) -> None:
        data = csv_report_chunk(
            [(2, "1", True, "", "", "", ""), (3, "x", False, "bad", "", "", "")], header=True
        )
        assert data.count(b"\r\n") == 3
        assert data.replace(b"\r\n", b"").count(b"\n") == 0

    def test_values_keep_leading_zeros_and_unicode(self) -> None:
        data = csv_report_chunk(
            [(2, "0123", False, "Nummer ungültig, «12»", "", "", "")], header=False
        )
        assert read_csv(data) == [["2", "0123", "failure", "Nummer ungültig, «12»", "", ""]]

    def test_formula_looking_values_are_quote_prefixed(self) -> None:
        rows = [
            (n + 2, value, False, value, "", "", "") for n, value in enumerate(FORMULA_INJECTIONS)
        ]
        parsed = read_csv(csv_report_chunk(rows, header=False))
        assert [row[1] for row in parsed] == ["'" + value for value in FORMULA_INJECTIONS]
        assert [row[3] for row in parsed] == ["'" + value for value in FORMULA_INJECTIONS]

    def test_a_tab_before_a_formula_is_neutralised_too(self) -> None:
        parsed = read_csv(
            csv_report_chunk([(2, "\t=1", False, "a\x00b\x07c", "", "", "")], header=False)
        )
        assert parsed == [["2", "' =1", "failure", "abc", "", ""]]


class TestFormulaSafe:
    def test_plain_values_are_left_alone(self) -> None:
        for value in ["0123", "12345678901234567890", "", "already registered", "a=b"]:
            assert formula_safe(value) == value

    def test_each_formula_start_gets_a_quote(self) -> None:
        for value in ["=1", "+1", "-1", "@A1", "\t=1", "\rx", " =1", "\n+1"]:
            assert formula_safe(value).startswith("'"), repr(value)

    def test_no_control_character_survives(self) -> None:
        cleaned = formula_safe("".join(chr(code) for code in range(32)) + "end")
        assert cleaned == "   end"

    def test_the_cap_applies_to_csv_values_as_well(self) -> None:
        assert len(formula_safe("=" + "1" * 5000)) == 1 + MAX_CELL_CHARS + 1


class TestXlsxReportQuotePrefix:
    @given(
        start=st.sampled_from(["=", "+", "-", "@", "\t", "\r", " =", "\t@"]),
        rest=st.text(st.characters(exclude_categories=["Cs"]), max_size=20),
    )
    def test_generated_formula_like_text_is_written_with_quote_prefix(
        self, start: str, rest: str
    ) -> None:
        """The kind: text starting with =, +, -, @, tab or CR, in the number and the reason."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "report.xlsx"
            write_xlsx(
                path,
                [
                    (2, start + rest, False, start + rest, "", "", ""),
                    (3, "0123", True, "", "", "", ""),
                ],
            )
            sheet = load_workbook(path).active
            first, plain = list(sheet.iter_rows(min_row=2))
        assert (first[1].quotePrefix, first[3].quotePrefix) == (True, True)
        assert first[1].data_type == "s" == plain[1].data_type
        # rustpy-xlsxwriter formats whole columns: a plain number keeps its zeros when edited.
        assert plain[1].quotePrefix

    def test_a_hyperlink_formula_stays_text_when_edited(self, tmp_path: Path) -> None:
        path = tmp_path / "report.xlsx"
        write_xlsx(
            path, [(2, '=HYPERLINK("http://x.example","click")', False, "not_digits", "", "", "")]
        )
        cell = load_workbook(path).active["B2"]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (
            '=HYPERLINK("http://x.example","click")',
            "s",
            True,
        )


class TestReportTargets:
    def test_the_rows_ou_and_description_follow_the_reason(self, tmp_path: Path) -> None:
        row = (2, "0123", True, "", "Sales / North", "=cmd", "")
        values = write_xlsx(tmp_path / "report.xlsx", [row])
        assert values[1] == (2, "0123", "success", None, "Sales / North", "=cmd")
        parsed = read_csv(csv_report_chunk([row], header=False))
        assert parsed == [["2", "0123", "success", "", "Sales / North", "'=cmd"]]


class TestTemplateColumns:
    def test_the_optional_columns_follow_as_text(self) -> None:
        sheet = load_workbook(io.BytesIO(template_xlsx())).worksheets[0]
        assert [sheet[f"{c}1"].value for c in "ABC"] == [
            "Caller Number",
            "Organization Unit",
            "Description",
        ]
        assert all(sheet.column_dimensions[c].number_format == "@" for c in "ABC")


class TestXlsxReportPastOneSheet:
    def test_rows_past_a_sheet_continue_on_the_next_sheets_in_order(self, tmp_path: Path) -> None:
        path = tmp_path / "report.xlsx"
        rows = [(n + 2, f"0{n}", True, "", "", "", "") for n in range(7)]
        write_xlsx_report(path, iter(rows), total_rows=7, sheet_rows=3)
        workbook = load_workbook(path, read_only=True)
        sheets = {sheet.title: list(sheet.values) for sheet in workbook.worksheets}
        assert list(sheets) == ["Report", "Report 2", "Report 3"]
        assert all(values[0] == REPORT_HEADER for values in sheets.values())
        read_back = [row[:2] for values in sheets.values() for row in values[1:]]
        assert read_back == [(n + 2, f"0{n}") for n in range(7)]

    def test_more_rows_than_announced_is_an_error_not_a_short_report(self, tmp_path: Path) -> None:
        rows = [(n + 2, f"0{n}", True, "", "", "", "") for n in range(4)]
        with pytest.raises(ValueError, match="more rows than the 3"):
            write_xlsx_report(tmp_path / "report.xlsx", iter(rows), total_rows=3, sheet_rows=3)


# Any text of a report cell: empty (most are), formula-looking, with controls or line breaks.
_REPORT_TEXT = st.one_of(
    st.just(""),
    st.sampled_from(["=1+1", " -3", "@x", "\t=q", "a\x01b", "x\r\ny", "Sales / North"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
)
_REPORT_ROW = st.tuples(
    st.integers(2, 10**6), _REPORT_TEXT, st.booleans(), _REPORT_TEXT, _REPORT_TEXT, _REPORT_TEXT
)


class TestBothReportsOfGeneratedRows:
    @given(st.lists(_REPORT_ROW, min_size=1, max_size=8), st.sampled_from(["", "check: success"]))
    def test_every_cell_reads_back_as_each_report_promises(
        self, drawn: list[tuple[int, str, bool, str, str, str]], changed: str
    ) -> None:
        """The kind: rows whose texts are empty or not in any column, the first row too (the
        xlsx writer takes its header row from the first row's cells), with and without the
        column of a compared import. The csv holds each text formula-safe, an empty one empty;
        the xlsx holds it cleaned (the quote prefix is its column's format), an empty one
        blank; the result is success or failure."""
        from shared.spreadsheets import CHANGED_HEADER, _clean

        for compared in (False, True):
            rows: list[ReportRow] = [(*row, changed) for row in drawn]
            header = (*REPORT_HEADER, CHANGED_HEADER) if compared else REPORT_HEADER
            texts = [
                (number, "success" if ok else "failure", reason, org_unit, description)
                for _, number, ok, reason, org_unit, description in drawn
            ]
            extra = [changed] if compared else []
            lines = read_csv(csv_report_chunk(rows, header=True, compared=compared))
            assert lines[0] == list(header)
            assert lines[1:] == [
                [str(row[0]), formula_safe(t[0]), t[1], *map(formula_safe, t[2:]), *extra]
                for row, t in zip(drawn, texts, strict=True)
            ]
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "report.xlsx"
                write_xlsx_report(path, rows, total_rows=len(rows), compared=compared)
                workbook = load_workbook(path, read_only=True)
                values = list(workbook.active.values)
                workbook.close()
            assert values[0] == header
            shown = [_clean(text) or None for text in extra]
            assert values[1:] == [
                (row[0], _clean(t[0]) or None, t[1], *(_clean(x) or None for x in t[2:]), *shown)
                for row, t in zip(drawn, texts, strict=True)
            ]
