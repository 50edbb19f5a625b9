import re
import struct
import zipfile
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from services.import_worker import xlsx
from services.import_worker.cells import check_cell
from services.import_worker.filetypes import BadFile, Cell, FileLimits, Kind
from services.import_worker.readers import (
    check_file,
    count_data_rows,
    iter_lines,
    iter_rows,
    kept_lines,
)

LIMITS = FileLimits()
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"


def xlsx_parts(sheet_data: str, *, shared: list[str] | None = None) -> dict[str, str]:
    """The parts of a minimal workbook as Excel lays it out, around the given <sheetData> rows."""
    shared_rel = f'<Relationship Id="rId2" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    parts = {
        "[Content_Types].xml": "<Types/>",
        "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
        '<sheet name="Numbers" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{PACKAGE_RELS}">'
        f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f"{shared_rel if shared is not None else ''}</Relationships>",
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{MAIN}"><sheetData>{sheet_data}'
        "</sheetData></worksheet>",
    }
    if shared is not None:
        items = "".join(f"<si>{item}</si>" for item in shared)
        parts["xl/sharedStrings.xml"] = f'<sst xmlns="{MAIN}">{items}</sst>'
    return parts


def write_zip(path: Path, parts: Mapping[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return path


def write_xlsx(tmp_path: Path, sheet_data: str, *, shared: list[str] | None = None) -> Path:
    return write_zip(tmp_path / "upload.bin", xlsx_parts(sheet_data, shared=shared))


def text_rows(*values: str, start: int = 1) -> str:
    """Rows of inline-string cells in column A, numbered from `start`."""
    return "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{value}</t></is></c></row>'
        for n, value in enumerate(values, start=start)
    )


def openpyxl_book(tmp_path: Path, cells: Mapping[str, object], name: str = "book.xlsx") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for ref, value in {"A1": "Caller Number", **cells}.items():
        sheet[ref] = value
    workbook.save(tmp_path / name)
    return tmp_path / name


def write_csv(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "upload.bin"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def rows(path: Path, limits: FileLimits = LIMITS) -> list[tuple[int, Cell]]:
    kind: Kind = check_file(path, limits)
    return list(iter_rows(path, kind, limits))


def reason_of(cell: Cell) -> tuple[str, str]:
    """(reason code, the cell's place the reason names) of a refused cell."""
    rejection = check_cell(cell)[2]
    assert rejection is not None
    place = re.search(r"(?:columns?|fields?) [A-Z0-9, ]*[A-Z0-9]", rejection.message)
    return rejection.reason, place.group(0) if place else ""


def refusal(action: Callable[[], object]) -> str:
    """The code of the BadFile the action raises; its message must say something."""
    with pytest.raises(BadFile) as caught:
        action()
    assert str(caught.value)
    return caught.value.code


def message(action: Callable[[], object]) -> str:
    """The message of the BadFile the action raises."""
    with pytest.raises(BadFile) as caught:
        action()
    return str(caught.value)


class TestFileKind:
    def test_a_workbook_is_recognised_by_its_bytes_whatever_its_name(self, tmp_path: Path) -> None:
        path = openpyxl_book(tmp_path, {"A2": "1"}, name="numbers.csv")
        assert check_file(path, LIMITS) == "xlsx"

    def test_utf8_text_is_a_csv_whatever_its_name(self, tmp_path: Path) -> None:
        path = tmp_path / "numbers.xlsx"
        path.write_text("Caller Number\n0123\n")
        assert check_file(path, LIMITS) == "csv"

    @pytest.mark.parametrize(
        "head",
        [
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
            b"%PDF-1.4\n1 0 obj << >> endobj\n",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            b"\x89PNG\r\n\x1a\n" + bytes(20),
            bytes(range(256)) * 4,
            "Caller Number\n0123\n".encode("utf-16-le"),
            "Caller Number\nMüller\n".encode("latin-1"),
        ],
        ids=[
            "pdf",
            "ascii-only pdf",
            "xls",
            "png",
            "random bytes",
            "utf-16 without bom",
            "latin-1",
        ],
    )
    def test_anything_but_an_xlsx_or_utf8_text_is_not_a_spreadsheet(
        self, tmp_path: Path, head: bytes
    ) -> None:
        path = write_csv(tmp_path, head)
        assert refusal(lambda: check_file(path, LIMITS)) == "not_a_spreadsheet"

    def test_a_zip_that_is_no_workbook_is_not_a_spreadsheet(self, tmp_path: Path) -> None:
        path = write_zip(tmp_path / "archive.zip", {"notes.txt": "Caller Number\n0123\n"})
        assert refusal(lambda: check_file(path, LIMITS)) == "not_a_spreadsheet"

    def test_a_workbook_without_its_first_sheet_is_not_a_spreadsheet(self, tmp_path: Path) -> None:
        parts: dict[str, str | bytes] = dict(xlsx_parts(text_rows("Caller Number")))
        del parts["xl/worksheets/sheet1.xml"]
        path = write_zip(tmp_path / "book.xlsx", parts)
        assert refusal(lambda: check_file(path, LIMITS)) == "not_a_spreadsheet"

    def test_an_empty_file_is_empty(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, b"")
        assert refusal(lambda: check_file(path, LIMITS)) == "empty"


class TestZipBombs:
    def test_an_entry_compressed_beyond_the_ratio_is_refused(self, tmp_path: Path) -> None:
        parts: dict[str, str | bytes] = dict(xlsx_parts(text_rows("Caller Number", "1")))
        parts["xl/media/image1.bin"] = bytes(4 * 1024 * 1024)
        path = write_zip(tmp_path / "book.xlsx", parts)
        assert refusal(lambda: check_file(path, LIMITS)) == "zip_bomb"

    def test_a_sheet_of_spaces_inflating_a_thousandfold_is_refused(self, tmp_path: Path) -> None:
        sheet = text_rows("Caller Number") + " " * 20_000_000
        path = write_xlsx(tmp_path, sheet)
        assert refusal(lambda: check_file(path, LIMITS)) == "zip_bomb"

    def test_too_many_entries_are_refused(self, tmp_path: Path) -> None:
        parts: dict[str, str | bytes] = dict(xlsx_parts(text_rows("Caller Number", "1")))
        parts.update({f"xl/media/{n}.txt": "x" for n in range(1001)})
        path = write_zip(tmp_path / "book.xlsx", parts)
        assert refusal(lambda: check_file(path, LIMITS)) == "zip_bomb"
        assert check_file(path, FileLimits(max_zip_entries=2000)) == "xlsx"

    def test_more_declared_bytes_than_the_limit_are_refused(self, tmp_path: Path) -> None:
        path = write_xlsx(tmp_path, text_rows("Caller Number", *["13800138000"] * 100))
        small = FileLimits(max_uncompressed_bytes=2000)
        assert refusal(lambda: check_file(path, small)) == "zip_bomb"

    def test_a_sheet_larger_than_its_declared_size_is_refused(self, tmp_path: Path) -> None:
        sheet = text_rows("Caller Number", *[f"{13800000000 + n}" for n in range(1000)])
        path = write_xlsx(tmp_path, sheet)
        lie_about_size(path, "xl/worksheets/sheet1.xml", declared=1000)
        assert refusal(lambda: check_file(path, LIMITS)) == "zip_bomb"

    def test_shared_strings_beyond_what_memory_should_hold_are_too_large(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sheet = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        path = write_xlsx(tmp_path, sheet, shared=["<t>Caller Number</t>"] + ["<t>1</t>"] * 100)
        monkeypatch.setattr(xlsx, "_MAX_SHARED_STRINGS_BYTES", 1000)
        assert refusal(lambda: check_file(path, LIMITS)) == "too_large"

    def test_a_real_workbook_passes(self, tmp_path: Path) -> None:
        cells = {f"A{n}": f"{13800000000 + n}" for n in range(2, 20_000)}
        assert check_file(openpyxl_book(tmp_path, cells), LIMITS) == "xlsx"


def lie_about_size(path: Path, name: str, *, declared: int) -> None:
    """Rewrite the entry's uncompressed size in its local and central headers."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(encoded)] == encoded:
                struct.pack_into("<I", data, at + offset, declared)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))


class TestHeader:
    def test_the_header_is_trimmed_and_case_insensitive(self, tmp_path: Path) -> None:
        path = write_xlsx(tmp_path, text_rows("  caller NUMBER ", "0123"))
        assert rows(path) == [(2, "0123")]

    @pytest.mark.parametrize("header", ["Number", "Caller Numbers", ""])
    def test_a_different_first_header_is_a_missing_header(
        self, tmp_path: Path, header: str
    ) -> None:
        path = write_csv(tmp_path, f"{header}\n0123\n")
        assert refusal(lambda: rows(path)) == "missing_header"

    def test_a_header_below_row_1_is_a_missing_header(self, tmp_path: Path) -> None:
        path = write_xlsx(tmp_path, text_rows("Caller Number", "0123", start=2))
        assert refusal(lambda: rows(path)) == "missing_header"

    def test_an_empty_sheet_has_a_missing_header(self, tmp_path: Path) -> None:
        path = write_xlsx(tmp_path, "")
        assert refusal(lambda: rows(path)) == "missing_header"

    def test_a_numeric_header_cell_is_a_missing_header(self, tmp_path: Path) -> None:
        path = write_xlsx(tmp_path, '<row r="1"><c r="A1"><v>1</v></c></row>')
        assert refusal(lambda: rows(path)) == "missing_header"

    def test_another_filled_header_cell_is_an_unexpected_column(self, tmp_path: Path) -> None:
        path = openpyxl_book(tmp_path, {"C1": "Remarks", "A2": "0123"})
        assert refusal(lambda: rows(path)) == "unexpected_columns"
        path = write_csv(tmp_path, "Caller Number;Remarks\r\n0123;x\r\n")
        assert refusal(lambda: rows(path)) == "unexpected_columns"

    def test_empty_header_cells_after_the_first_are_fine(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "Caller Number,, \n0123,,\n")
        assert rows(path) == [(2, "0123")]


class TestCounting:
    def test_the_count_is_the_rows_iter_rows_yields(self, tmp_path: Path) -> None:
        path = openpyxl_book(tmp_path, {"A2": "1", "A4": "  ", "A5": 2, "B7": "note"})
        assert count_data_rows(path, "xlsx", LIMITS) == len(rows(path)) == 3

    @pytest.mark.parametrize("kind", ["xlsx", "csv"])
    def test_more_rows_than_the_limit_are_refused_before_the_import(
        self, tmp_path: Path, kind: Kind
    ) -> None:
        values = ["1", "2", "", "3", "4"]
        if kind == "csv":
            path = write_csv(tmp_path, "\n".join(["Caller Number", *values]))
        else:
            path = openpyxl_book(tmp_path, {f"A{n}": v for n, v in enumerate(values, start=2) if v})
        four, three = FileLimits(max_rows=4, max_csv_rows=4), FileLimits(max_rows=3, max_csv_rows=3)
        assert count_data_rows(path, kind, four) == 4
        assert refusal(lambda: count_data_rows(path, kind, three)) == "too_many_rows"
        assert refusal(lambda: list(iter_rows(path, kind, three))) == "too_many_rows"

    def test_a_csv_may_have_more_rows_than_a_sheet(self, tmp_path: Path) -> None:
        """The limits are per kind: a csv is not held to the sheet's row count."""
        path = write_csv(tmp_path, "\n".join(["Caller Number", "1", "2", "3"]))
        assert count_data_rows(path, "csv", FileLimits(max_rows=2, max_csv_rows=3)) == 3
        assert FileLimits().max_csv_rows == 5_000_000 > FileLimits().max_rows

    @pytest.mark.parametrize("kind", ["xlsx", "csv"])
    def test_the_lines_kept_while_counting_are_the_lines_a_second_read_gives(
        self, tmp_path: Path, kind: Kind
    ) -> None:
        """What the worker sends comes from the kept lines: every line, cell and refusal (a
        date, a formula without result) the same as reading the file again, in order, across
        the chunks it is kept in."""
        count = 25_001  # three chunks of 10,000
        if kind == "csv":
            lines = ["Caller Number,Organization Unit,Description"]
            lines += [f"{n:011d},{'Sales' if n % 3 else ''},{'x' * (n % 5)}" for n in range(count)]
            path = write_csv(tmp_path, "\n".join(lines))
        else:
            cells: dict[str, object] = {"A1": "Caller Number", "B1": "Description"}
            cells |= {f"A{n}": f"{n:011d}" for n in range(2, count + 2)}
            cells |= {"A3": date(2024, 1, 2), "A4": "=1+1", "B5": 1.5, "B6": " note "}
            path = openpyxl_book(tmp_path, cells)
        kept = tmp_path / "lines"
        assert count_data_rows(path, kind, LIMITS, kept) == count
        assert list(kept_lines(kept)) == list(iter_lines(path, kind, LIMITS))

    def test_a_header_without_rows_is_empty(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "Caller Number\r\n\r\n , \r\n")
        assert refusal(lambda: count_data_rows(path, "csv", LIMITS)) == "empty"
        path = write_xlsx(tmp_path, text_rows("Caller Number", " "))
        assert refusal(lambda: count_data_rows(path, "xlsx", LIMITS)) == "empty"

    def test_a_wrong_header_is_reported_before_counting(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "Phone\n1\n2\n")
        assert refusal(lambda: count_data_rows(path, "csv", FileLimits(max_rows=1))) == (
            "missing_header"
        )


class TestCsv:
    def test_a_utf8_bom_and_crlf_are_read(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, b"\xef\xbb\xbfCaller Number\r\n0123\r\n 456 \r\n")
        assert rows(path) == [(2, "0123"), (3, " 456 ")]

    @pytest.mark.parametrize("delimiter", [";", "\t", ","])
    def test_the_header_line_tells_the_delimiter(self, tmp_path: Path, delimiter: str) -> None:
        path = write_csv(tmp_path, f"Caller Number{delimiter}\n0123{delimiter}\n456\n")
        assert rows(path) == [(2, "0123"), (3, "456")]

    def test_blank_lines_are_skipped_but_keep_their_row_numbers(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "Caller Number\n0123\n\n  \n,\n456\n")
        assert rows(path) == [(2, "0123"), (6, "456")]

    def test_a_row_with_only_another_column_fails_naming_the_field(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "Caller Number\n,note\n")
        [(row, cell)] = rows(path)
        assert row == 2 and check_cell(cell)[0] == ",note"
        assert reason_of(cell) == ("unexpected_columns", "field 2")

    def test_a_quoted_field_is_one_cell_even_across_lines(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, 'Caller Number\n"01;23"\n"4\n5"\n678\n')
        assert rows(path) == [(2, "01;23"), (3, "4\n5"), (4, "678")]

    def test_invalid_utf8_past_the_first_bytes_is_refused_when_counting(
        self, tmp_path: Path
    ) -> None:
        path = write_csv(tmp_path, b"Caller Number\n" + b"1\n" * 40_000 + b"M\xfcller\n")
        assert check_file(path, LIMITS) == "csv"
        assert refusal(lambda: count_data_rows(path, "csv", LIMITS)) == "not_a_spreadsheet"

    def test_a_line_without_end_is_refused_without_holding_it(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "Caller Number\n" + "1" * 2_000_000)
        assert refusal(lambda: rows(path)) == "not_a_spreadsheet"


class TestXlsxValues:
    def test_shared_strings_come_out_exactly_as_written(self, tmp_path: Path) -> None:
        shared = ["<t>Caller Number</t>", "<t>0123</t>", '<t xml:space="preserve"> 0456 </t>']
        sheet = "".join(
            f'<row r="{n}"><c r="A{n}" t="s"><v>{n - 1}</v></c></row>' for n in (1, 2, 3)
        )
        assert rows(write_xlsx(tmp_path, sheet, shared=shared)) == [(2, "0123"), (3, " 0456 ")]

    def test_rich_text_joins_its_runs_without_the_phonetic_guide(self, tmp_path: Path) -> None:
        shared = [
            "<t>Caller Number</t>",
            "<r><t>01</t></r><r><rPr><b/></rPr><t>23</t></r><rPh><t>ignored</t></rPh>",
        ]
        sheet = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        sheet += '<row r="2"><c r="A2" t="s"><v>1</v></c></row>'
        assert rows(write_xlsx(tmp_path, sheet, shared=shared)) == [(2, "0123")]

    def test_inline_strings_keep_leading_zeros(self, tmp_path: Path) -> None:
        path = write_xlsx(tmp_path, text_rows("Caller Number", "00861380013800"))
        assert rows(path) == [(2, "00861380013800")]

    @pytest.mark.parametrize(
        ("xml", "value"),
        [
            ("13800138000", "13800138000"),
            ("12345678901234567890", "1.23456789012346E+19"),
            ("1.3800138E+10", "13800138000"),
            ("1.5", "1.5"),
            ("1.2345678901234567E+19", "1.23456789012346E+19"),
        ],
    )
    def test_a_general_number_is_written_as_the_formula_bar_shows_it(
        self, tmp_path: Path, xml: str, value: str
    ) -> None:
        sheet = text_rows("Caller Number") + f'<row r="2"><c r="A2"><v>{xml}</v></c></row>'
        [(_, found)] = rows(write_xlsx(tmp_path, sheet))
        assert check_cell(found)[:2] == (value, value)

    def test_a_workbook_written_by_a_spreadsheet_library_keeps_each_type(
        self, tmp_path: Path
    ) -> None:
        cells = {"A2": "0123", "A3": 13800138000, "A4": 1.5, "A5": True, "A6": date(2024, 1, 2)}
        assert [check_cell(cell)[0] for _, cell in rows(openpyxl_book(tmp_path, cells))] == [
            "0123",
            "13800138000",
            "1.5",
            "TRUE",
            "2024-01-02T00:00:00",
        ]

    def test_a_formula_gives_its_cached_value(self, tmp_path: Path) -> None:
        sheet = text_rows("Caller Number")
        sheet += '<row r="2"><c r="A2" t="str"><f>"0"&amp;B2</f><v>0123</v></c></row>'
        sheet += '<row r="3"><c r="A3"><f>B3*2</f><v>246</v></c></row>'
        sheet += '<row r="4"><c r="A4" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
        found = [(n, check_cell(cell)[0]) for n, cell in rows(write_xlsx(tmp_path, sheet))]
        assert found == [(2, "0123"), (3, "246"), (4, "#DIV/0!")]

    def test_an_iso_date_cell_is_a_datetime(self, tmp_path: Path) -> None:
        sheet = (
            text_rows("Caller Number") + '<row r="2"><c r="A2" t="d"><v>2024-01-02</v></c></row>'
        )
        [(_, cell)] = rows(write_xlsx(tmp_path, sheet))
        assert check_cell(cell)[0] == "2024-01-02" and reason_of(cell)[0] == "number_not_text"

    def test_dates_of_the_1904_date_system_are_read_as_such(self, tmp_path: Path) -> None:
        workbook = Workbook()
        workbook.epoch = CALENDAR_MAC_1904
        sheet = workbook.active
        assert sheet is not None
        sheet.append(["Caller Number"])
        sheet.append([date(2024, 1, 2)])
        workbook.save(tmp_path / "mac.xlsx")
        [(_, cell)] = rows(tmp_path / "mac.xlsx")
        assert check_cell(cell)[0] == datetime(2024, 1, 2).isoformat()

    def test_a_cell_longer_than_the_bound_is_refused_without_holding_it(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = write_xlsx(tmp_path, text_rows("Caller Number", "1" * 5000))
        monkeypatch.setattr(xlsx, "MAX_TEXT", 1000)
        assert refusal(lambda: rows(path)) == "not_a_spreadsheet"

    def test_a_prefixed_namespace_reads_the_same(self, tmp_path: Path) -> None:
        sheet = '<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Caller Number</x:t></x:is>'
        sheet += '</x:c></x:row><x:row r="2"><x:c r="A2" t="inlineStr"><x:is><x:t>0123</x:t>'
        sheet += "</x:is></x:c></x:row>"
        parts = xlsx_parts(sheet)
        parts["xl/worksheets/sheet1.xml"] = (
            f'<x:worksheet xmlns:x="{MAIN}"><x:sheetData>{sheet}</x:sheetData></x:worksheet>'
        )
        assert rows(write_zip(tmp_path / "book.xlsx", parts)) == [(2, "0123")]


class TestRowNumbers:
    def test_row_numbers_are_the_ones_excel_shows(self, tmp_path: Path) -> None:
        path = openpyxl_book(tmp_path, {"A2": "1", "A7": "2", "A1048576": "3"})
        assert rows(path) == [(2, "1"), (7, "2"), (1048576, "3")]

    def test_blank_rows_are_skipped(self, tmp_path: Path) -> None:
        sheet = text_rows("Caller Number", "1", " ", "", "2")
        sheet += '<row r="6"><c r="A6" s="3"/><c r="B6" s="3"/></row>'
        assert rows(write_xlsx(tmp_path, sheet)) == [(2, "1"), (5, "2")]

    def test_a_row_with_only_another_column_fails_naming_the_column(self, tmp_path: Path) -> None:
        path = openpyxl_book(tmp_path, {"A2": "1", "B3": "note", "A4": "2"})
        found = rows(path)
        assert [(n, check_cell(cell)[0]) for n, cell in found] == [(2, "1"), (3, ""), (4, "2")]
        assert reason_of(found[1][1]) == ("unexpected_columns", "column B")

    def test_rows_and_cells_without_references_follow_the_previous_ones(
        self, tmp_path: Path
    ) -> None:
        sheet = '<row><c t="inlineStr"><is><t>Caller Number</t></is></c></row>'
        sheet += '<row r="4"><c t="inlineStr"><is><t>1</t></is></c></row>'
        sheet += '<row><c r="B5" t="inlineStr"><is><t>x</t></is></c><c><v>2</v></c></row>'
        found = rows(write_xlsx(tmp_path, sheet))
        assert [n for n, _ in found] == [4, 5] and found[0][1] == "1"
        assert reason_of(found[1][1]) == ("unexpected_columns", "columns B, C")

    def test_the_first_visible_sheet_is_read_even_when_another_is_active(
        self, tmp_path: Path
    ) -> None:
        workbook = Workbook()
        first = workbook.active
        assert first is not None
        first.append(["Caller Number"])
        first.append(["0123"])
        workbook.create_sheet("Instructions").append(["Fill in the first sheet"])
        workbook.active = 1
        workbook.save(tmp_path / "book.xlsx")
        assert rows(tmp_path / "book.xlsx") == [(2, "0123")]


class TestCraftedRowNumbers:
    @pytest.mark.parametrize(
        "numbers", [(1, 2, 2), (1, 5, 3), (1, 1_048_577)], ids=["repeated", "backwards", "beyond"]
    )
    def test_rows_out_of_order_or_beyond_excel_are_refused(
        self, tmp_path: Path, numbers: tuple[int, ...]
    ) -> None:
        # Results are keyed by row number: two rows with one number would never both count.
        sheet = "".join(text_rows("Caller Number" if n == 1 else str(n), start=n) for n in numbers)
        path = write_xlsx(tmp_path, sheet)
        assert refusal(lambda: rows(path)) == "not_a_spreadsheet"


class TestCsvWithNul:
    def test_a_nul_anywhere_in_a_csv_refuses_it(self, tmp_path: Path) -> None:
        content = "Caller Number\r\n" + "123\r\n" * 20_000 + "12\x003\r\n"
        path = write_csv(tmp_path, content)
        assert refusal(lambda: rows(path)) == "not_a_spreadsheet"
        assert "Line 20,002 of the file holds a NUL byte" in message(lambda: rows(path))

    @pytest.mark.parametrize("line", [1, 2, 3])
    def test_a_nul_in_the_first_lines_is_named_with_its_line(
        self, tmp_path: Path, line: int
    ) -> None:
        lines = ["Caller Number", "123", "456"]
        lines[line - 1] += "\x00"
        path = write_csv(tmp_path, "\n".join(lines) + "\n")
        assert f"Line {line} of the file holds a NUL byte" in message(lambda: rows(path))

    def test_a_cell_longer_than_csvs_default_limit_fails_only_its_row(self, tmp_path: Path) -> None:
        path = write_csv(tmp_path, "Caller Number\r\n" + "9" * 200_000 + "\r\n123\r\n")
        assert [n for n, _ in rows(path)] == [2, 3]


class TestStreaming:
    def test_the_first_rows_come_before_the_rest_is_read_and_closing_stops_early(
        self, tmp_path: Path
    ) -> None:
        path = write_xlsx(tmp_path, text_rows("Caller Number", *["1"] * 50_000) + "<broken")
        reading = iter_rows(path, "xlsx", LIMITS)
        assert next(reading) == (2, "1")
        reading.close()
        assert refusal(lambda: list(iter_rows(path, "xlsx", LIMITS))) == "not_a_spreadsheet"


class TestXmlSafety:
    BILLION_LAUGHS = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    )

    def test_a_sheet_with_a_doctype_is_refused(self, tmp_path: Path) -> None:
        parts = xlsx_parts(text_rows("Caller Number", "&lol2;"))
        parts["xl/worksheets/sheet1.xml"] = self.BILLION_LAUGHS + parts["xl/worksheets/sheet1.xml"]
        path = write_zip(tmp_path / "book.xlsx", parts)
        assert refusal(lambda: rows(path)) == "not_a_spreadsheet"

    def test_shared_strings_with_an_entity_are_refused(self, tmp_path: Path) -> None:
        sheet = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        parts = xlsx_parts(sheet, shared=["<t>&lol2;</t>"])
        parts["xl/sharedStrings.xml"] = self.BILLION_LAUGHS + parts["xl/sharedStrings.xml"]
        path = write_zip(tmp_path / "book.xlsx", parts)
        assert refusal(lambda: rows(path)) == "not_a_spreadsheet"

    def test_malformed_xml_is_not_a_spreadsheet(self, tmp_path: Path) -> None:
        path = write_xlsx(tmp_path, '<row r="1"><c r="A1"><v>1</c></row>')
        assert refusal(lambda: rows(path)) == "not_a_spreadsheet"

    def test_a_missing_shared_string_is_not_a_spreadsheet(self, tmp_path: Path) -> None:
        sheet = '<row r="1"><c r="A1" t="s"><v>7</v></c></row>'
        assert refusal(lambda: rows(write_xlsx(tmp_path, sheet, shared=[]))) == "not_a_spreadsheet"
