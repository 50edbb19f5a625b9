"""Reading an uploaded import file (.xlsx or .csv) row by row, after refusing unsafe or bad ones.

Cells come out as the user sees them: text exactly as written; a number as the digits its number
format displays, else Refused with what it shows; a formula by its stored result only when the
file keeps a current one (xlsx.py, formats.py). CSV fields are text as written.
"""

import codecs
import contextlib
import csv
import io
import pickle
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from itertools import chain, islice
from pathlib import Path
from typing import TextIO

from services.import_worker.columns import EXPECTED, Columns, Line, line_of, optional_columns
from services.import_worker.filetypes import (
    CHUNK,
    HEADER,
    MAX_OTHERS,
    MAX_TEXT,
    SAVE_AS,
    BadFile,
    Cell,
    FileLimits,
    Kind,
    Refused,
    Row,
)
from services.import_worker.xlsx import check_xlsx, sheet_name, xlsx_rows
from shared.rules import Reason, Rejection

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


def count_data_rows(path: Path, kind: Kind, limits: FileLimits, keep: Path | None = None) -> int:
    """The rows iter_lines yields, counted before the import so that nothing is applied in vain.

    With `keep`, each (row number, Line) is also written there (pickled, _KEPT_CHUNK at a
    time), for `kept_lines` to send them without reading the spreadsheet a second time: its
    parse is most of a worker's reading (~9 s per million xlsx rows), the kept lines ~1 s.
    A chunk is pickled as two lists, the row numbers and the lines as plain tuples: a
    NamedTuple is pickled and unpickled through Python calls, one each per row (3x slower)."""
    count = 0
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(keep.open("wb")) if keep is not None else None
        lines = stack.enter_context(closing(iter_lines(path, kind, limits)))
        while chunk := list(islice(lines, _KEPT_CHUNK)):
            count += len(chunk)
            if out is not None:
                columns = ([n for n, _ in chunk], [tuple(line) for _, line in chunk])
                pickle.dump(columns, out, protocol=pickle.HIGHEST_PROTOCOL)
    if count == 0:
        message = f"{_source(path, kind)} has no caller numbers below the '{HEADER}' header."
        raise BadFile("empty", _capital(message))
    return count


_KEPT_CHUNK = 10_000


def kept_lines(keep: Path) -> Generator[tuple[int, Line], None, None]:
    """The lines count_data_rows kept, in order. The file is this process's own, written in
    its private folder: unpickling it runs nothing a client sent."""
    with keep.open("rb") as file:
        while True:
            try:
                numbers, lines = pickle.load(file)
            except EOFError:
                return
            yield from zip(numbers, map(Line._make, lines), strict=True)


def iter_rows(
    path: Path, kind: Kind, limits: FileLimits
) -> Generator[tuple[int, Cell], None, None]:
    """(row number, what its Caller Number cell shows) of each line iter_lines yields."""
    lines = iter_lines(path, kind, limits)
    with closing(lines):
        for row_number, line in lines:
            yield row_number, line.number


def iter_lines(
    path: Path, kind: Kind, limits: FileLimits
) -> Generator[tuple[int, Line], None, None]:
    """(row number as a spreadsheet app shows it, what its cells show) of each non-blank data
    row; a row with values in a column without a recognised header comes as a Refused number.

    A generator: close it when stopping early, and the file is closed at once.
    """
    rows = xlsx_rows(path, limits) if kind == "xlsx" else _csv_rows(path)
    with closing(rows):
        columns = _check_header(next(rows, None), kind, lambda: _source(path, kind))
        max_rows = limits.rows_of(kind)
        for count, (row_number, first, others, whole) in enumerate(rows, start=1):
            if count > max_rows:
                message = f"{_capital(_source(path, kind))} has more than {max_rows:,} rows "
                message += "of caller numbers: "
                message += f"split it into files of at most {max_rows:,} rows."
                raise BadFile("too_many_rows", message)
            if not others:
                yield row_number, Line(first)
            elif unknown := tuple(where for where, _ in others if where not in columns):
                yield row_number, Line(_beside(first, unknown, whole, kind))
            else:
                yield row_number, line_of(first, others, columns)


def _source(path: Path, kind: Kind) -> str:
    return f"the sheet '{sheet_name(path)}'" if kind == "xlsx" else "the file"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _beside(first: Cell, others: tuple[str, ...], whole: str | None, kind: Kind) -> Refused:
    """The row fails with its own reason: nothing the user wrote beside the number is dropped."""
    as_written = first.as_written if isinstance(first, Refused) else first or ""
    as_written = whole if whole is not None else as_written
    # An unquoted 2,150,001,234 is four fields to any CSV reader.
    hint = " (a number written with thousands separators is split there)" if kind == "csv" else ""
    message = f"The row has values in {_where(others, kind)}, which have no header{hint}: "
    message += f"keep only the columns {EXPECTED}."
    return Refused(as_written, Rejection(Reason.UNEXPECTED_COLUMNS, message))


def _check_header(row: Row | None, kind: Kind, source: Callable[[], str]) -> Columns:
    cell = "Cell A1" if kind == "xlsx" else "The first line"
    if row is None or row[0] != 1 or not isinstance(row[1], str):
        message = f"{cell} of {source()} must hold the column header '{HEADER}'."
        raise BadFile("missing_header", message)
    if row[1].strip().casefold() != HEADER.casefold():
        message = f"{cell} of {source()} must hold the column header '{HEADER}', "
        raise BadFile("missing_header", message + f"not '{row[1].strip()[:40]}'.")
    return optional_columns(row[2], "column" if kind == "xlsx" else "field")


def _where(others: tuple[str, ...], kind: Kind) -> str:
    """ "column B", "columns B, C" (xlsx letters) or "field 2", "fields 2, 3" (CSV positions)."""
    noun = "column" if kind == "xlsx" else "field"
    more = " and more" if len(others) > MAX_OTHERS else ""
    return f"{noun}{'s' if len(others) > 1 else ''} {', '.join(others[:MAX_OTHERS])}{more}"


# --- file kind -----------------------------------------------------------------------------


def _check_text(head: bytes, *, complete: bool) -> None:
    for magic, name in _OTHER_FORMATS.items():
        if head.startswith(magic):
            raise BadFile("not_a_spreadsheet", f"The file is {name}, not a spreadsheet. {SAVE_AS}")
    encoding = _encoding(head)
    if encoding == "utf-8-sig" and b"\0" in head:
        line = head[: head.index(b"\0")].count(b"\n") + 1
        raise _holds_nul(line)
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=complete)
    except UnicodeError:
        raise _not_utf8(io.BytesIO(head)) from None


def _encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM), or UTF-16 by its BOM: Excel's "Unicode Text" export."""
    return "utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"


def _not_utf8(pieces: Iterable[bytes]) -> BadFile:
    """Name the first line that is not UTF-8, so that the user can find what to fix.

    `pieces` are the file's lines, a long one possibly in several pieces (readline's bound).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    number = 1
    for piece in pieces:
        try:
            decoder.decode(piece, final=piece.endswith(b"\n"))
        except UnicodeDecodeError as error:
            bad, before = error.object[error.start], error.object[: error.start]
            shown = before.decode("utf-8", "replace").strip()[-30:]
            message = f"Line {number} of the file is not UTF-8 text (byte 0x{bad:02X}"
            message += f" after '{shown}')" if shown else ")"
            return BadFile("not_a_spreadsheet", f"{message}. {SAVE_AS}")
        number += piece.endswith(b"\n")
    message = f"The file is neither an Excel workbook nor a CSV file in UTF-8 or UTF-16. {SAVE_AS}"
    return BadFile("not_a_spreadsheet", message)


# --- CSV -----------------------------------------------------------------------------------

_SEPARATOR_LINE = re.compile(r'"?sep=(.)"?\r?\n?', re.IGNORECASE)


def _csv_rows(path: Path) -> Generator[Row, None, None]:
    with path.open("rb") as raw:
        encoding = _encoding(raw.read(2))
    with path.open(encoding=encoding, newline="") as file:
        try:
            lines = _csv_lines(file)
            first = next(lines, "")
            # Excel's "Unicode Text" (UTF-16) is always tab-separated.
            delimiter = _delimiter(first, default="\t" if encoding == "utf-16" else ",")
            if separator := _SEPARATOR_LINE.fullmatch(first):
                # Excel's own hint line: the delimiter is named, the header follows.
                delimiter, first = separator.group(1), next(lines, "")
            csv.field_size_limit(MAX_TEXT)  # a long cell fails its row, not the file
            records = csv.reader(chain([first], lines), delimiter=delimiter)
            for row_number, record in enumerate(records, start=1):
                if _filled(record):
                    others = _other_fields(record)
                    # A row refused for its fields is shown as the line wrote it: 2,150,001,234.
                    whole = delimiter.join(record) if others else None
                    yield row_number, record[0], others, whole
        except UnicodeDecodeError:
            if encoding == "utf-16":
                message = (
                    f"The file is damaged: it is not the UTF-16 text its start says. {SAVE_AS}"
                )
                raise BadFile("not_a_spreadsheet", message) from None
            with path.open("rb") as raw:  # again, line by line, to name the line
                raise _not_utf8(iter(lambda: raw.readline(MAX_TEXT), b"")) from None
        except csv.Error as error:
            message = f"The file is not a CSV file ({error}). {SAVE_AS}"
            raise BadFile("not_a_spreadsheet", message) from None


def _other_fields(record: list[str]) -> tuple[tuple[str, Cell], ...]:
    """The filled fields after the first with their positions (2, 3...), at most MAX_OTHERS + 1."""
    filled = ((str(n), field) for n, field in enumerate(record[1:], start=2) if field.strip())
    return tuple(islice(filled, MAX_OTHERS + 1))


def _csv_lines(file: TextIO) -> Iterator[str]:
    """The file's lines, each bounded so that a file without line breaks cannot fill memory."""
    number = 0
    while line := file.readline(MAX_TEXT):
        number += line.endswith("\n")
        if len(line) == MAX_TEXT and not line.endswith(("\n", "\r")):
            message = f"A line of the CSV file is longer than {MAX_TEXT:,} characters."
            raise BadFile("not_a_spreadsheet", message)
        if "\0" in line:  # not text; and PostgreSQL could not store it in the report
            raise _holds_nul(number + (not line.endswith("\n")))
        yield line


def _holds_nul(line: int) -> BadFile:
    message = (
        f"Line {line:,} of the file holds a NUL byte (U+0000), which no text file has: "
        f"it is not a CSV text file. {SAVE_AS}"
    )
    return BadFile("not_a_spreadsheet", message)


def _filled(fields: list[str]) -> bool:
    return bool("".join(fields).strip())


def _delimiter(header_line: str, *, default: str) -> str:
    """Excel writes ';' where the decimal separator is ',', and tabs as "Unicode Text"."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in ",;\t"}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else default
