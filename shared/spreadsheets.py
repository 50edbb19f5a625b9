"""Spreadsheet files of the bulk import: the template to fill in and the per-row result report.

The xlsx report goes through rustpy-xlsxwriter (MIT), a binding of rust_xlsxwriter, the Rust
port of XlsxWriter by XlsxWriter's own author; exports and the template stay on the Python
libraries. Writers measured on the 2-core machine, 1,000,000 rows x 4 columns, one process each
(rows/s, s, peak RSS):

    rustpy-xlsxwriter 0.8.0 (Rust)               430k rows/s  2.3 s   27 MB   chosen (issue 14:
                                                                             the report stage)
    rvgsrust-xlsxwriter 0.3.5 (Rust)             370k rows/s  2.7 s   35 MB   young, one maintainer
    xlsxwriter 3.3.1, constant_memory             76k rows/s   13 s   23 MB   per-cell formats
    openpyxl 3.1.5, write_only                    39k rows/s   26 s   27 MB
    pyexcelerate 0.13.0                           68k rows/s   15 s  343 MB   holds every row

rustpy-xlsxwriter takes formats per column, not per cell: every caller number and reason cell
carries quotePrefix, not only the formula-looking ones (see write_xlsx_report).
"""

import codecs
import csv
import io
import re
from collections.abc import Iterable, Sequence
from itertools import islice
from pathlib import Path

import rustpy_xlsxwriter
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
SHEET_ROWS = 1_048_575  # data rows of one sheet below its header

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


def write_xlsx_report(
    path: Path,
    rows: Iterable[ReportRow],
    *,
    total_rows: int,
    preview: bool = False,
    compared: bool = False,
    sheet_rows: int = SHEET_ROWS,
) -> None:
    """Write the report to `path` with flat memory, pulling `rows` as it goes (in the caller's
    thread: run it off the event loop). `total_rows` rows make one sheet "Report", or more past
    `sheet_rows`: "Report 2", "Report 3"... (a csv import may hold more rows than a sheet).
    `preview` names the sheets for a dry run ("Preview - nothing imported"); `compared` adds
    the column of rows changed since the dry run.

    Every text column (caller number, reason, OU, description, changed) has quotePrefix (a
    column style): Excel keeps it text even when a user edits it, so neither a formula-looking
    value nor a number's leading zeros are ever taken otherwise. Values are cleaned as in the
    csv. Raises ValueError if `rows` fill more sheets than `total_rows` needs: no report drops a
    row."""
    header = report_header(compared=compared)
    quoted, bold = rustpy_xlsxwriter.Format(), rustpy_xlsxwriter.Format()
    quoted.set_quote_prefix()
    bold.set_bold()
    writer = rustpy_xlsxwriter.FastExcel(path, columns=list(header))
    writer.freeze(row=1)
    cells = map(_xlsx_cells_compared if compared else _xlsx_cells, rows)
    name = PREVIEW_SHEET if preview else REPORT_SHEET
    for sheet in range(max(1, -(-total_rows // sheet_rows))):
        writer.sheet(
            name if sheet == 0 else f"{name} {sheet + 1}",
            islice(cells, sheet_rows),  # pulled sheet after sheet as the writer saves
            column_widths=list(REPORT_COLUMN_WIDTHS[: len(header)]),
            column_formats={column: quoted for column in header if column in _TEXT_COLUMNS},
            header_format=bold,
        )
    writer.save()
    if next(cells, None) is not None:
        raise ValueError(f"the report has more rows than the {total_rows:,} it was written for")


# A dict per row, keyed by the header (rustpy-xlsxwriter takes records), every key in every row:
# the writer takes the header row from the first record's keys. An empty text is written as a
# blank cell. Built as a literal, not dict(zip(...)): it is the xlsx report's cost per row.
_ROW, _NUMBER, _RESULT, _REASON, _ORG_UNIT, _DESCRIPTION = REPORT_HEADER
_RESULTS = ("failure", "success")  # a row's Result, by `succeeded`


def _xlsx_cells(row: ReportRow) -> dict[str, int | str]:
    row_number, caller_number, succeeded, reason, org_unit, description, _ = row
    return {
        _ROW: row_number,
        _NUMBER: _clean(caller_number),
        _RESULT: _RESULTS[succeeded],
        _REASON: reason and _clean(reason),
        _ORG_UNIT: org_unit and _clean(org_unit),
        _DESCRIPTION: description and _clean(description),
    }


def _xlsx_cells_compared(row: ReportRow) -> dict[str, int | str]:
    cells = _xlsx_cells(row)
    cells[CHANGED_HEADER] = row[6] and _clean(row[6])
    return cells


# Every column but the row number and the result, which the report writes itself.
_TEXT_COLUMNS = frozenset((*REPORT_HEADER[1:2], *REPORT_HEADER[3:], CHANGED_HEADER))


def csv_report_chunk(rows: Sequence[ReportRow], *, header: bool, compared: bool = False) -> bytes:
    """UTF-8 CSV with CRLF line ends; the BOM on the header chunk makes Excel read it as UTF-8.
    `compared` adds the column of rows changed since the dry run."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(report_header(compared=compared))
    writer.writerows(map(_csv_cells_compared if compared else _csv_cells, rows))
    data = buffer.getvalue().encode("utf-8")
    return codecs.BOM_UTF8 + data if header else data


def _csv_cells(row: ReportRow) -> tuple[int | str, ...]:
    row_number, caller_number, succeeded, reason, org_unit, description, _ = row
    # An empty text stays empty: formula_safe("") is "", and most rows' texts are empty.
    return (
        row_number,
        formula_safe(caller_number),
        _RESULTS[succeeded],
        reason and formula_safe(reason),
        org_unit and formula_safe(org_unit),
        description and formula_safe(description),
    )


def _csv_cells_compared(row: ReportRow) -> tuple[int | str, ...]:
    return (*_csv_cells(row), row[6])


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet app could take the text for a formula once a user edits it."""
    # TAB and CR become spaces in a report; a formula behind them still counts.
    return _clean(text).lstrip(" ").startswith(_FORMULA_STARTS) or text.startswith(("\t", "\r"))


def formula_safe(text: str) -> str:
    """The value as a CSV cell that no spreadsheet app runs as a formula."""
    clean = _clean(text)
    if clean.lstrip(" ").startswith(_FORMULA_STARTS) or text.startswith(("\t", "\r")):
        return "'" + clean  # as looks_like_formula decides, with the value cleaned once
    return clean


def _clean(text: str) -> str:
    """The value without what a report cannot hold, capped at MAX_CELL_CHARS."""
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS] + "…"
    if text.isprintable():  # the common case, and far cheaper than the regex
        return text
    return _UNWRITABLE.sub("", text.translate(_LINE_BREAKS))
