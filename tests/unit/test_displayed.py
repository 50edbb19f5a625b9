"""Each kind of cell, sheet and package the field found wrong, written by openpyxl and XlsxWriter.

A row's outcome is what the user gets in the report: (row, as written, reason code or None).
"""

import math
import zipfile
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest
import xlsxwriter
from openpyxl import Workbook

from services.import_worker.cells import check_cell
from services.import_worker.filetypes import BadFile, FileLimits
from services.import_worker.readers import check_file, count_data_rows, iter_rows
from services.import_worker.runner import batches
from shared.contracts import ImportRowsRead, RowRead
from shared.settings import Settings

LIMITS = FileLimits()
KAFKA_MAX_MESSAGE_BYTES = 1_048_576  # the broker's and the producer's default
HEADER = "Caller Number"
Outcome = tuple[int, str, str | None]
# (value, number format or None for General) of column A, from row 2 down
Cells = list[tuple[object, str | None]]


def outcomes(path: Path, limits: FileLimits = LIMITS) -> list[Outcome]:
    kind = check_file(path, limits)
    found = []
    for row_number, cell in iter_rows(path, kind, limits):
        as_written, _, rejection = check_cell(cell)
        found.append((row_number, as_written, rejection.reason if rejection else None))
    return found


def messages(path: Path) -> list[str]:
    kind = check_file(path, LIMITS)
    return [(check_cell(cell)[2] or (0, ""))[1] for _, cell in iter_rows(path, kind, LIMITS)]


def refusal(action: Callable[[], object]) -> BadFile:
    with pytest.raises(BadFile) as caught:
        action()
    return caught.value


def by_openpyxl(path: Path, cells: Cells) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = HEADER
    for row, (value, number_format) in enumerate(cells, start=2):
        cell = sheet.cell(row=row, column=1, value=value)
        if number_format:
            cell.number_format = number_format
    workbook.save(path)
    return path


def by_xlsxwriter(path: Path, cells: Cells) -> Path:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = workbook.add_worksheet()
    sheet.write_string(0, 0, HEADER)
    for row, (value, number_format) in enumerate(cells, start=1):
        style = workbook.add_format({"num_format": number_format}) if number_format else None
        if isinstance(value, str) and value.startswith("="):
            sheet.write_formula(row, 0, value, style)
        else:
            sheet.write(row, 0, value, style)
    workbook.close()
    return path


WRITERS = pytest.mark.parametrize(
    "write", [by_openpyxl, by_xlsxwriter], ids=["openpyxl", "xlsxwriter"]
)


class TestNumbersAsDisplayed:
    @WRITERS
    @pytest.mark.parametrize(
        ("value", "number_format", "shown"),
        [
            (2150001234, "00000000000", "02150001234"),
            (2150001234, "0", "2150001234"),
            (2150001234, "#", "2150001234"),
            (2150001234, "#0000000000000", "0002150001234"),
            (2150001234, "@", "2150001234"),
            (13800138000, None, "13800138000"),
            (999_999_999_999_999, None, "999999999999999"),
            (13800138000.0, "[Red]00000000000", "13800138000"),
        ],
    )
    def test_a_number_shown_as_plain_digits_is_imported_as_those_digits(
        self,
        tmp_path: Path,
        write: Callable[[Path, Cells], Path],
        value: object,
        number_format: str | None,
        shown: str,
    ) -> None:
        path = write(tmp_path / "book.xlsx", [(value, number_format)])
        assert outcomes(path) == [(2, shown, None)]

    @WRITERS
    @pytest.mark.parametrize(
        ("value", "number_format", "says"),
        [
            (2150001234, "#,##0", "thousands separators"),
            (2150001234, "0.00", "decimals"),
            (2150001234, "0.00E+00", "scientific"),
            (2150001234, '"$"#,##0', "money"),
            (2150001234, "[$€-407]0", "money"),
            (21, "0%", "percentage"),
            (45000, "yyyy-mm-dd", "date"),
            (45000, "mm-dd-yy", "date"),
            (1.25, "[h]:mm:ss", "duration"),
            (2150001234, '"Tel "0', "text around"),
            (2150001234, "000\\-0000000", "text around"),
            (1.5, None, "decimals"),
            (1.5, "0", "decimals"),
            (10**15, None, "15 digits"),
            (12345678901234567890, "0", "15 digits"),
        ],
    )
    def test_any_other_display_fails_the_row_saying_what_the_cell_shows(
        self,
        tmp_path: Path,
        write: Callable[[Path, Cells], Path],
        value: object,
        number_format: str | None,
        says: str,
    ) -> None:
        path = write(tmp_path / "book.xlsx", [(value, number_format)])
        [(_, _, reason)] = outcomes(path)
        [message] = messages(path)
        assert reason == "number_not_text"
        assert says in message and "as Text" in message

    @pytest.mark.parametrize(
        ("format_id", "shown"),
        [
            (0, "2150001234"),
            (1, "2150001234"),
            (3, None),
            (9, None),
            (14, None),
            (49, "2150001234"),
        ],
    )
    def test_builtin_format_ids_are_honoured(
        self, tmp_path: Path, format_id: int, shown: str | None
    ) -> None:
        path = crafted(tmp_path, '<c r="A2" s="1"><v>2150001234</v></c>', format_id=format_id)
        [(_, as_written, reason)] = outcomes(path)
        assert (reason is None) == (shown is not None)
        if shown:
            assert as_written == shown

    @pytest.mark.parametrize("value", ["NaN", "INF", "-inf", "1e999", "x"])
    def test_a_value_that_is_no_number_fails_its_row_under_any_format(
        self, tmp_path: Path, value: str
    ) -> None:
        for format_id in (0, 14, 1):
            path = crafted(tmp_path, f'<c r="A2" s="1"><v>{value}</v></c>', format_id=format_id)
            [(_, _, reason)] = outcomes(path)
            assert reason is not None

    def test_zero_under_a_hash_format_shows_nothing_and_is_a_blank_row(
        self, tmp_path: Path
    ) -> None:
        path = by_openpyxl(tmp_path / "book.xlsx", [(0, "#"), (0, "0")])
        assert outcomes(path) == [(3, "0", None)]

    def test_a_negative_number_fails_its_row(self, tmp_path: Path) -> None:
        path = by_xlsxwriter(tmp_path / "book.xlsx", [(-13800138000, "0;0")])
        assert outcomes(path) == [(2, "-13800138000", "not_digits")]


def crafted(tmp_path: Path, cells: str, *, format_id: int = 0, extra: str = "") -> Path:
    """A workbook whose style 1 has the given number format id; row 2 holds `cells`."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    parts = {
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rels}"><sheets>'
        f'<sheet name="Numbers" sheetId="1" r:id="rId1"/></sheets>{extra}</workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{package}">'
        f'<Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId3" Type="{rels}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<styleSheet xmlns="{main}"><cellXfs count="2"><xf numFmtId="0"/>'
        f'<xf numFmtId="{format_id}"/></cellXfs></styleSheet>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData><row r="1">'
        f'<c r="A1" t="inlineStr"><is><t>{HEADER}</t></is></c></row><row r="2">{cells}</row>'
        "</sheetData></worksheet>",
    }
    path = tmp_path / "crafted.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return path


class TestNothingBesideTheNumberIsDropped:
    @WRITERS
    def test_a_value_in_a_column_without_header_fails_its_row_naming_it(
        self, tmp_path: Path, write: Callable[[Path, Cells], Path]
    ) -> None:
        path = write(tmp_path / "book.xlsx", [("13800138000", None), ("13800138001", None)])
        path = add_cells(path, {"C3": "note", "B3": 5})
        found = outcomes(path)
        assert found == [(2, "13800138000", None), (3, "13800138001", "unexpected_columns")]
        assert "columns B, C" in messages(path)[1]

    def test_many_values_beside_are_named_up_to_five_and_more(self, tmp_path: Path) -> None:
        path = by_openpyxl(tmp_path / "book.xlsx", [("13800138000", None)])
        path = add_cells(path, {f"{letter}2": "x" for letter in "BCDEFGH"})
        assert "columns B, C, D, E, F and more" in messages(path)[0]
        path = tmp_path / "numbers.csv"
        path.write_text("Caller Number\r\n1,2,3,4,5,6\r\n1,2,3,4,5,6,7\r\n")
        assert "fields 2, 3, 4, 5, 6:" in messages(path)[0].replace(", which", ":")
        assert "fields 2, 3, 4, 5, 6 and more" in messages(path)[1]

    def test_a_csv_line_of_several_fields_fails_naming_them(self, tmp_path: Path) -> None:
        path = tmp_path / "numbers.csv"
        path.write_text("Caller Number\r\n2,150,001,234\r\n13800138000,,\r\n1,2,3\r\n")
        assert outcomes(path) == [
            (2, "2,150,001,234", "unexpected_columns"),
            (3, "13800138000", None),
            (4, "1,2,3", "unexpected_columns"),
        ]
        assert "fields 2, 3, 4" in messages(path)[0] and "thousands" in messages(path)[0]


def add_cells(path: Path, cells: dict[str, object]) -> Path:
    """The same workbook, resaved by openpyxl with more cells (and its formats kept)."""
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    for ref, value in cells.items():
        sheet[ref] = value
    workbook.save(path)
    return path


class TestFormulas:
    def test_a_script_written_formula_flagged_for_recalculation_fails_not_zero(
        self, tmp_path: Path
    ) -> None:
        # XlsxWriter stores 0 as the result and sets fullCalcOnLoad: the 0 is no number.
        path = by_xlsxwriter(tmp_path / "book.xlsx", [("=B2", None), ("13800138000", None)])
        assert outcomes(path) == [(2, "", "formula_without_result"), (3, "13800138000", None)]

    def test_a_formula_without_stored_result_is_reported_not_dropped(self, tmp_path: Path) -> None:
        path = by_openpyxl(tmp_path / "book.xlsx", [("=B2&B3", None), ("13800138000", None)])
        assert outcomes(path) == [(2, "", "formula_without_result"), (3, "13800138000", None)]

    def test_a_formula_with_a_current_result_counts_by_it(self, tmp_path: Path) -> None:
        cells = '<c r="A2" s="1"><f>B2</f><v>2150001234</v></c>'
        path = crafted(tmp_path, cells, format_id=1)
        assert outcomes(path) == [(2, "2150001234", None)]

    @pytest.mark.parametrize("flag", ["fullCalcOnLoad", "forceFullCalc"])
    def test_a_stored_result_marked_stale_fails(self, tmp_path: Path, flag: str) -> None:
        cells = '<c r="A2"><f>B2</f><v>2150001234</v></c>'
        path = crafted(tmp_path, cells, extra=f'<calcPr {flag}="1"/>')
        assert outcomes(path) == [(2, "", "formula_without_result")]


class TestTheSheetTheUserSees:
    @pytest.mark.parametrize("state", ["hidden", "veryHidden"])
    def test_a_hidden_first_sheet_is_skipped(self, tmp_path: Path, state: str) -> None:
        workbook = Workbook()
        old = workbook.active
        assert old is not None
        old.append([HEADER])
        old.append(["11111111111"])
        old.sheet_state = state
        seen = workbook.create_sheet("Current")
        seen.append([HEADER])
        seen.append(["13800138000"])
        workbook.active = 1
        workbook.save(tmp_path / "book.xlsx")
        assert outcomes(tmp_path / "book.xlsx") == [(2, "13800138000", None)]

    def test_a_chart_sheet_first_is_skipped(self, tmp_path: Path) -> None:
        path = tmp_path / "book.xlsx"
        workbook = xlsxwriter.Workbook(str(path))
        chartsheet = workbook.add_chartsheet("Chart")
        data = workbook.add_worksheet("Numbers")
        data.write_string(0, 0, HEADER)
        data.write_string(1, 0, "13800138000")
        chart = workbook.add_chart({"type": "line"})
        chart.add_series({"values": "=Numbers!$B$1:$B$2"})
        chartsheet.set_chart(chart)
        workbook.close()
        assert outcomes(path) == [(2, "13800138000", None)]

    @pytest.mark.parametrize(
        "kind",
        [
            b"http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
            b"http://schemas.microsoft.com/office/2006/relationships/xlIntlMacrosheet",
            b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/dialogsheet",
        ],
        ids=["macro", "international macro", "dialog"],
    )
    def test_a_macro_or_dialog_sheet_first_is_skipped(self, tmp_path: Path, kind: bytes) -> None:
        workbook = Workbook()
        first = workbook.active
        assert first is not None
        first.append([HEADER])
        first.append(["11111111111"])
        current = workbook.create_sheet("Numbers")
        current.append([HEADER])
        current.append(["13800138000"])
        workbook.save(tmp_path / "book.xlsx")
        worksheet = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
        first_sheet = b'" Target="/xl/worksheets/sheet1.xml"'

        def edit(_: str, data: bytes) -> bytes:
            return data.replace(worksheet + first_sheet, kind + first_sheet)

        assert outcomes(respelled(tmp_path / "book.xlsx", str, edit)) == [(2, "13800138000", None)]

    def test_a_missing_header_names_the_sheet_read(self, tmp_path: Path) -> None:
        workbook = Workbook()
        first = workbook.active
        assert first is not None
        first.title = "Notes"
        first.append(["Fill in the next sheet"])
        workbook.create_sheet("Numbers").append([HEADER])
        workbook.save(tmp_path / "book.xlsx")
        error = refusal(lambda: outcomes(tmp_path / "book.xlsx"))
        assert error.code == "missing_header" and "'Notes'" in str(error)

    def test_an_empty_sheet_names_itself(self, tmp_path: Path) -> None:
        path = by_openpyxl(tmp_path / "book.xlsx", [])
        error = refusal(lambda: count_data_rows(path, "xlsx", LIMITS))
        assert error.code == "empty" and "'Sheet'" in str(error)

    def test_too_many_rows_names_the_sheet(self, tmp_path: Path) -> None:
        path = by_openpyxl(tmp_path / "book.xlsx", [("1", None), ("2", None)])
        error = refusal(lambda: count_data_rows(path, "xlsx", FileLimits(max_rows=1)))
        assert error.code == "too_many_rows" and "The sheet 'Sheet'" in str(error)

    def test_a_damaged_sheet_names_itself(self, tmp_path: Path) -> None:
        path = crafted(tmp_path, '<c r="A2"><v>1</c>')
        error = refusal(lambda: outcomes(path))
        assert error.code == "not_a_spreadsheet" and "Sheet 'Numbers'" in str(error)

    def test_a_workbook_without_visible_worksheet_is_refused(self, tmp_path: Path) -> None:
        path = by_openpyxl(tmp_path / "book.xlsx", [("0123", None)])
        path = respelled(
            path, str, lambda _, data: data.replace(b'state="visible"', b'state="hidden"')
        )
        error = refusal(lambda: check_file(path, LIMITS))
        assert "no visible worksheet" in str(error)


def respelled(
    path: Path, rename: Callable[[str], str], edit: Callable[[str, bytes], bytes]
) -> Path:
    """The same package with its part names renamed and its parts edited."""
    out = path.with_name("respelled.xlsx")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(rename(info.filename), edit(info.filename, source.read(info)))
    return out


class TestPackageAsTheStandardDefinesIt:
    @pytest.mark.parametrize(
        "rename",
        [
            str.upper,
            lambda name: name.replace("sharedStrings", "SharedStrings"),
            lambda name: name.replace("styles", "Styles"),
        ],
        ids=["all upper case", "SharedStrings", "Styles"],
    )
    def test_part_names_are_case_insensitive(
        self, tmp_path: Path, rename: Callable[[str], str]
    ) -> None:
        path = by_xlsxwriter(tmp_path / "book.xlsx", [("0123", None), (45000, "yyyy-mm-dd")])
        path = respelled(path, rename, lambda _, data: data)
        assert outcomes(path) == [(2, "0123", None), (3, "2023-03-15T00:00:00", "number_not_text")]

    def test_absolute_relationship_targets_and_a_moved_workbook_are_followed(
        self, tmp_path: Path
    ) -> None:
        path = by_openpyxl(tmp_path / "book.xlsx", [("0123", None)])

        def edit(name: str, data: bytes) -> bytes:
            if name == "_rels/.rels":
                return data.replace(b"xl/workbook.xml", b"/book/main.xml")
            if name == "xl/_rels/workbook.xml.rels":
                return (
                    data.replace(b'Target="/xl/', b'Target="/book/')
                    .replace(b'Target="', b'Target="/book/')
                    .replace(b"/book//book/", b"/book/")
                )
            return data

        def rename(name: str) -> str:
            return {
                "xl/workbook.xml": "book/main.xml",
                "xl/_rels/workbook.xml.rels": "book/_rels/main.xml.rels",
            }.get(name, name.replace("xl/", "book/"))

        assert outcomes(respelled(path, rename, edit)) == [(2, "0123", None)]

    def test_a_strict_open_xml_workbook_reads_the_same(self, tmp_path: Path) -> None:
        cells: Cells = [("0123", None), (2150001234, "00000000000"), (45000, "yyyy-mm-dd")]
        path = by_openpyxl(tmp_path / "book.xlsx", cells)
        expected = outcomes(path)
        strict = {
            b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": (
                b"http://purl.oclc.org/ooxml/spreadsheetml/main"
            ),
            b"http://schemas.openxmlformats.org/officeDocument/2006/relationships": (
                b"http://purl.oclc.org/ooxml/officeDocument/relationships"
            ),
        }

        def edit(_: str, data: bytes) -> bytes:
            for transitional, strict_name in strict.items():
                data = data.replace(transitional, strict_name)
            return data

        converted = respelled(path, str, edit)
        with zipfile.ZipFile(converted) as archive:
            assert b"purl.oclc.org" in archive.read("xl/_rels/workbook.xml.rels")
        assert outcomes(converted) == expected
        assert expected[1] == (3, "02150001234", None)

    @pytest.mark.parametrize(
        ("stored", "shown", "reason"),
        [
            ("13800138000_x000D_", "13800138000\r", None),
            ("_x005F_x000D_13800138000", "_x000D_13800138000", "not_digits"),
            ("138_x200B_00138000", "138<U+200B>00138000", "not_digits"),
        ],
    )
    def test_xhhhh_escapes_are_decoded(
        self, tmp_path: Path, stored: str, shown: str, reason: str | None
    ) -> None:
        path = by_xlsxwriter(tmp_path / "book.xlsx", [("PLACEHOLDER", None)])
        path = respelled(path, str, lambda _, data: data.replace(b"PLACEHOLDER", stored.encode()))
        assert outcomes(path) == [(2, shown, reason)]


class TestCsvAsSpreadsheetsWriteIt:
    def test_excels_sep_line_names_the_delimiter(self, tmp_path: Path) -> None:
        path = tmp_path / "numbers.csv"
        path.write_text("sep=;\r\nCaller Number\r\n0123\r\n")
        assert outcomes(path) == [(2, "0123", None)]

    def test_excels_unicode_text_utf16_with_tabs_is_read(self, tmp_path: Path) -> None:
        path = tmp_path / "numbers.txt"
        path.write_bytes("Caller Number\t\r\n0123\t\r\n4567\tx\r\n".encode("utf-16"))
        assert outcomes(path) == [(2, "0123", None), (3, "4567\tx", "unexpected_columns")]

    def test_damaged_utf16_text_is_refused_as_such(self, tmp_path: Path) -> None:
        path = tmp_path / "numbers.txt"
        text = "Caller Number\r\n" + "0123\r\n" * 40_000
        path.write_bytes(text.encode("utf-16") + b"\x00\xd8\x41")  # a lone surrogate, odd end
        error = refusal(lambda: count_data_rows(path, "csv", LIMITS))
        assert error.code == "not_a_spreadsheet" and "UTF-16" in str(error)

    def test_the_first_undecodable_line_is_named(self, tmp_path: Path) -> None:
        path = tmp_path / "numbers.csv"
        path.write_bytes(b"Caller Number\n0123\nM\xfcller\n")
        error = refusal(lambda: check_file(path, LIMITS))
        assert error.code == "not_a_spreadsheet" and "Line 3" in str(error)
        path.write_bytes(b"Caller Number\n" + b"1\n" * 40_000 + b"M\xfcller\n")
        error = refusal(lambda: count_data_rows(path, "csv", LIMITS))
        assert "Line 40002" in str(error)


class TestBoundedCost:
    def test_valid_rows_padded_with_spaces_go_in_messages_under_kafkas_limit(self) -> None:
        # 2,000 valid numbers padded to the report's 1,000 characters: 2 MB as one batch.
        padded = " " * 989 + "13800138000"
        rows: list[RowRead] = [
            {"row_number": n, "number": "13800138000", "as_written": padded} for n in range(2, 2002)
        ]
        max_bytes = Settings().import_batch_max_bytes
        envelope = {"tenant_id": "t", "task_id": uuid4(), "org_unit_id": None, "dry_run": False}
        sent = list(batches(rows, max_bytes, **envelope, description="d" * 255))
        assert len(sent) > 1 and all(len(data) <= max_bytes for data in sent)
        assert all(len(data) < KAFKA_MAX_MESSAGE_BYTES for data in sent)
        read = [ImportRowsRead.model_validate_json(data) for data in sent]
        assert [row.model_dump(exclude_none=True) for batch in read for row in batch.rows] == rows

    def test_a_shared_string_table_beyond_the_limit_is_refused(self, tmp_path: Path) -> None:
        path = by_xlsxwriter(tmp_path / "book.xlsx", [(str(n), None) for n in range(100)])
        error = refusal(lambda: outcomes(path, FileLimits(max_shared_strings=50)))
        assert error.code == "too_large"
        assert len(outcomes(path, FileLimits(max_shared_strings=101))) == 100

    def test_a_workbook_costing_more_cpu_than_the_limit_is_refused(self, tmp_path: Path) -> None:
        path = by_xlsxwriter(tmp_path / "book.xlsx", [(str(n), None) for n in range(20_000)])
        error = refusal(lambda: outcomes(path, FileLimits(max_cpu_seconds=0.001)))
        assert error.code == "too_large" and "processing" in str(error)
        assert len(outcomes(path)) == 20_000

    def test_the_row_limit_is_a_full_excel_sheet(self) -> None:
        assert LIMITS.max_rows == 1_048_576 - 1
        assert math.isclose(LIMITS.max_rows, 1_048_575)
