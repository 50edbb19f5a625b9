"""Spreadsheet files of the bulk import: the template to fill in and the per-row result report.

The xlsx report goes through XlsxWriter in constant-memory mode: the reference Python writer,
well kept for a decade, and fast enough for our targets. Writers measured on the 2-core
machine, 1,000,000 rows x 4 columns in chunks of 5000, one process each (rows/s, s, peak RSS):

    xlsxwriter 3.3.1, constant_memory             76k rows/s   13 s   23 MB   chosen
    rvgsrust-xlsxwriter 0.3.5 (Rust)             370k rows/s  2.7 s   35 MB   young, one maintainer
    rustpy-xlsxwriter 0.8.0 (Rust)               430k rows/s  2.3 s   27 MB   pulls a generator
    openpyxl 3.1.5, write_only                    39k rows/s   26 s   27 MB
    pyexcelerate 0.13.0                           68k rows/s   15 s  343 MB   holds every row

A 1M-row import still ends, report downloaded, well within its 90 s (see README, Benchmark).
"""

import codecs
import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from shared.rules import IMPORT_MAX_DIGITS

# (row number as the spreadsheet shows it, caller number exactly as written, succeeded, reason,
# the row's OU as a path of names ("" Unorganized), its description, and for an import started
# from a dry run, what the dry run said of the row if that differs, else "")
ReportRow = tuple[int, str, bool, str, str, str, str]
REPORT_HEADER = ("Row", "Caller Number", "Result", "Reason", "Organization Unit", "Description")
REPORT_COLUMN_WIDTHS = (10.0, 24.0, 10.0, 60.0, 30.0, 40.0, 30.0)
# The column a report of an import started from a dry run adds.
CHANGED_HEADER = "Changed since the check"
# A dry run's report says so where a user looks first: its sheet's name.
REPORT_SHEET, PREVIEW_SHEET = "Report", "Preview - nothing imported"

TEMPLATE_SHEET = "Caller Numbers"
TEMPLATE_HEADER = "Caller Number"
# Optional columns that may follow, in any order: a row's own OU and description.
ORG_UNIT_HEADER = "Organization Unit"
DESCRIPTION_HEADER = "Description"
TEXT_FORMAT = "@"

# A hostile cell could otherwise make every report of a million rows weigh gigabytes; a real
# caller number or reason is far shorter.
MAX_CELL_CHARS = 1000

# XML 1.0 cannot hold C0 controls, and they garble Excel; lone surrogates cannot be encoded as
# UTF-8 and U+FFFE/U+FFFF are not XML characters either, so all of them go.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = str.maketrans("\t\r\n", "   ")
# OWASP's CSV-injection list: a spreadsheet app runs a cell starting with one of these.
_FORMULA_STARTS = ("=", "+", "-", "@")


def template_xlsx(*, max_rows: int = 1_048_575) -> bytes:
    """The import template; column A is text so Excel keeps leading zeros and long numbers."""
    workbook = Workbook()
    _fill_numbers_sheet(workbook.active)
    _fill_instructions_sheet(workbook.create_sheet("Instructions"), max_rows=max_rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _fill_numbers_sheet(sheet: Worksheet) -> None:
    sheet.title = TEMPLATE_SHEET
    headers = ((TEMPLATE_HEADER, 26), (ORG_UNIT_HEADER, 30), (DESCRIPTION_HEADER, 50))
    for letter, (title, width) in zip("ABC", headers, strict=True):
        # A column style, not a million cell styles: Excel gives it to every cell typed later.
        column = sheet.column_dimensions[letter]
        column.number_format = TEXT_FORMAT
        column.width = width
        header = sheet[f"{letter}1"]
        header.value = title
        header.number_format = TEXT_FORMAT
        header.font = Font(bold=True)
    sheet.freeze_panes = "A2"


def _fill_instructions_sheet(sheet: Worksheet, *, max_rows: int) -> None:
    lines = [
        "How to fill in the template",
        f'Write one caller number per row in column A of the sheet "{TEMPLATE_SHEET}", '
        "from row 2 down.",
        "Digits 0-9 only: no spaces, plus signs, dashes or brackets.",
        f"Each number has 1 to {IMPORT_MAX_DIGITS} digits.",
        "Keep column A formatted as Text, so Excel keeps leading zeros and long numbers "
        "exactly as typed.",
        f"Optional: column {ORG_UNIT_HEADER!r} holds the row's organization unit, by its id or "
        "its path of names from the top, such as Sales / North; column "
        f"{DESCRIPTION_HEADER!r} holds its description (at most 255 characters). An empty cell "
        "takes the organization unit or description chosen on the upload form.",
        "Delete the optional columns you do not use, or leave them empty.",
        "Blank rows are skipped.",
        f"At most {max_rows:,} rows per file.",
    ]
    for line in lines:
        sheet.append([line])
    sheet["A1"].font = Font(bold=True)
    sheet.column_dimensions["A"].width = 100


def text_workbook(path: Path) -> xlsxwriter.Workbook:
    """A workbook written row by row with flat memory, where no str is guessed into a
    formula, number or link: every str is a string cell."""
    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    return xlsxwriter.Workbook(str(path), options)


def report_header(*, compared: bool) -> tuple[str, ...]:
    return (*REPORT_HEADER, CHANGED_HEADER) if compared else REPORT_HEADER


class XlsxReportWriter:
    """Writes the report incrementally to a file path with flat memory; `preview` names the
    sheet for a dry run, `compared` adds the column of rows changed since the dry run."""

    def __init__(self, path: Path, *, preview: bool = False, compared: bool = False) -> None:
        self._workbook = text_workbook(path)
        self._sheet = self._workbook.add_worksheet(PREVIEW_SHEET if preview else REPORT_SHEET)
        for column, width in enumerate(REPORT_COLUMN_WIDTHS):
            self._sheet.set_column(column, column, width)
        # quotePrefix: Excel keeps such a cell text even when the user edits it later.
        self._quoted = self._workbook.add_format({"quote_prefix": True})
        bold = self._workbook.add_format({"bold": True})
        self._sheet.write_row(0, 0, report_header(compared=compared), bold)
        self._sheet.freeze_panes(1, 0)
        self._next_row = 1

    def write(self, rows: Sequence[ReportRow]) -> None:
        sheet, row = self._sheet, self._next_row
        for row_number, caller_number, succeeded, reason, org_unit, description, changed in rows:
            sheet.write_number(row, 0, row_number)
            self._write_text(row, 1, caller_number)
            sheet.write_string(row, 2, _result(succeeded))
            if reason:
                self._write_text(row, 3, reason)
            if org_unit:
                self._write_text(row, 4, org_unit)
            if description:
                self._write_text(row, 5, description)
            if changed:
                self._write_text(row, 6, changed)
            row += 1
        self._next_row = row

    def _write_text(self, row: int, column: int, text: str) -> None:
        if looks_like_formula(text):
            self._sheet.write_string(row, column, _clean(text), self._quoted)
        else:
            self._sheet.write_string(row, column, _clean(text))

    def close(self) -> None:
        self._workbook.close()


def csv_report_chunk(rows: Sequence[ReportRow], *, header: bool, compared: bool = False) -> bytes:
    """UTF-8 CSV with CRLF line ends; the BOM on the header chunk makes Excel read it as UTF-8.
    `compared` adds the column of rows changed since the dry run."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(report_header(compared=compared))
    cells = (_csv_cells(row) for row in rows)
    writer.writerows(cells if compared else (line[:-1] for line in cells))
    data = buffer.getvalue().encode("utf-8")
    return codecs.BOM_UTF8 + data if header else data


def _csv_cells(row: ReportRow) -> tuple[int | str, ...]:
    row_number, caller_number, succeeded, reason, org_unit, description, changed = row
    return (
        row_number,
        formula_safe(caller_number),
        _result(succeeded),
        formula_safe(reason),
        formula_safe(org_unit),
        formula_safe(description),
        changed,
    )


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet app could take the text for a formula once a user edits it."""
    # TAB and CR become spaces in a report; a formula behind them still counts.
    return _clean(text).lstrip(" ").startswith(_FORMULA_STARTS) or text.startswith(("\t", "\r"))


def formula_safe(text: str) -> str:
    """The value as a CSV cell that no spreadsheet app runs as a formula."""
    return "'" + _clean(text) if looks_like_formula(text) else _clean(text)


def _clean(text: str) -> str:
    """The value without what a report cannot hold, capped at MAX_CELL_CHARS."""
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS] + "…"
    if text.isprintable():  # the common case, and far cheaper than the regex
        return text
    return _UNWRITABLE.sub("", text.translate(_LINE_BREAKS))


def _result(succeeded: bool) -> str:
    return "success" if succeeded else "failure"
