"""Reading an uploaded import file (.xlsx or .csv) row by row, after refusing unsafe or bad ones.

Cell values come out as the file stores them: text => str exactly as written, a number => int
when its text is an integer literal else float, TRUE/FALSE => bool, a date (date number format or
t="d") => datetime, an error => its text (e.g. "#N/A"), a formula => its cached value.
"""

import codecs
import csv
from collections.abc import Generator, Iterator
from contextlib import closing
from itertools import chain
from pathlib import Path
from typing import TextIO

from services.import_worker.filetypes import (
    CHUNK,
    HEADER,
    MAX_TEXT,
    SAVE_AS,
    BadFile,
    Cell,
    FileLimits,
    Kind,
    Row,
)
from services.import_worker.xlsx import check_xlsx, xlsx_rows

_ZIP_MAGIC = b"PK\x03\x04"
_OTHER_FORMATS = {
    b"\xd0\xcf\x11\xe0": "an Excel 97-2003 (.xls) or password-protected workbook",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
}


def check_file(path: Path, limits: FileLimits) -> Kind:
    """Decide the kind by the file's first bytes, not its name; refuse anything else or unsafe."""
    with path.open("rb") as file:
        head = file.read(CHUNK)
    if not head:
        raise BadFile("empty", "The file is empty.")
    if head.startswith(_ZIP_MAGIC):
        check_xlsx(path, limits)
        return "xlsx"
    _check_text(head, complete=len(head) < CHUNK)
    return "csv"


def count_data_rows(path: Path, kind: Kind, limits: FileLimits) -> int:
    """The rows iter_rows yields, counted before the import so that nothing is applied in vain."""
    count = sum(1 for _ in iter_rows(path, kind, limits))
    if count == 0:
        raise BadFile("empty", f"The file has no caller numbers below the '{HEADER}' header.")
    return count


def iter_rows(
    path: Path, kind: Kind, limits: FileLimits
) -> Generator[tuple[int, Cell], None, None]:
    """(row number as a spreadsheet app shows it, first cell) of each non-blank data row.

    A generator: close it when stopping early, and the file is closed at once.
    """
    with closing(xlsx_rows(path) if kind == "xlsx" else _csv_rows(path)) as rows:
        _check_header(next(rows, None))
        for count, (row_number, first, _) in enumerate(rows, start=1):
            if count > limits.max_rows:
                message = f"The file has more than {limits.max_rows:,} rows of caller numbers: "
                message += f"split it into files of at most {limits.max_rows:,} rows."
                raise BadFile("too_many_rows", message)
            yield row_number, first


def _check_header(row: Row | None) -> None:
    if row is None or row[0] != 1 or not isinstance(row[1], str):
        raise BadFile("missing_header", f"Cell A1 must hold the column header '{HEADER}'.")
    if row[1].strip().casefold() != HEADER.casefold():
        message = f"Cell A1 must hold the column header '{HEADER}', not '{row[1].strip()[:40]}'."
        raise BadFile("missing_header", message)
    if row[2]:
        message = f"The file must have one column, '{HEADER}'; remove the other columns."
        raise BadFile("unexpected_columns", message)


# --- file kind -----------------------------------------------------------------------------


def _check_text(head: bytes, *, complete: bool) -> None:
    for magic, name in _OTHER_FORMATS.items():
        if head.startswith(magic):
            raise BadFile("not_a_spreadsheet", f"The file is {name}, not a spreadsheet. {SAVE_AS}")
    try:
        if b"\0" in head:
            raise UnicodeError
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeError:
        message = f"The file is neither an Excel workbook nor a CSV file in UTF-8. {SAVE_AS}"
        raise BadFile("not_a_spreadsheet", message) from None


# --- CSV -----------------------------------------------------------------------------------


def _csv_rows(path: Path) -> Generator[Row, None, None]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        try:
            lines = _csv_lines(file)
            first = next(lines, "")
            csv.field_size_limit(MAX_TEXT)  # a long cell fails its row, not the file
            records = csv.reader(chain([first], lines), delimiter=_delimiter(first))
            for row_number, record in enumerate(records, start=1):
                if _filled(record):
                    yield row_number, record[0], len(record) > 1 and _filled(record[1:])
        except (UnicodeDecodeError, csv.Error) as error:
            message = f"The file is not a CSV file in UTF-8 ({error}). {SAVE_AS}"
            raise BadFile("not_a_spreadsheet", message) from None


def _csv_lines(file: TextIO) -> Iterator[str]:
    """The file's lines, each bounded so that a file without line breaks cannot fill memory."""
    while line := file.readline(MAX_TEXT):
        if len(line) == MAX_TEXT and not line.endswith(("\n", "\r")):
            message = f"A line of the CSV file is longer than {MAX_TEXT:,} characters."
            raise BadFile("not_a_spreadsheet", message)
        if "\0" in line:  # not text; and PostgreSQL could not store it in the report
            raise BadFile("not_a_spreadsheet", f"The file is not a CSV text file. {SAVE_AS}")
        yield line


def _filled(fields: list[str]) -> bool:
    return bool("".join(fields).strip())


def _delimiter(header_line: str) -> str:
    """Excel writes ';' where the decimal separator is ','; the header line tells which."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in ",;\t"}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","
