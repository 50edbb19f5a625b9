"""What reading an import file needs in either format: kinds, cells, limits and the refusal."""

from dataclasses import dataclass
from typing import Literal, NamedTuple

from shared.rules import Rejection
from shared.spreadsheets import TEMPLATE_HEADER

Kind = Literal["xlsx", "csv"]


class Refused(NamedTuple):
    """A cell that holds no caller number, whatever its text: what it shows and why not;
    `shows` names what its number format displays ("a percentage (0.125)") when that is
    not digits."""

    as_written: str
    rejection: Rejection
    shows: str | None = None


# What a cell displays: text exactly as written (numbers as the digits their format shows), or
# the refusal of a cell that displays something else; None for an empty cell.
Cell = str | Refused | None

HEADER = TEMPLATE_HEADER  # the template's column is the one a file must have


@dataclass(frozen=True)
class FileLimits:
    max_rows: int = 1_048_575  # data rows of an xlsx (blank rows not counted): a full sheet
    max_csv_rows: int = 5_000_000  # data rows of a csv: no sheet to fill, memory stays flat

    def rows_of(self, kind: "Kind") -> int:
        """The most data rows a file of this kind may have."""
        return self.max_rows if kind == "xlsx" else self.max_csv_rows

    max_shared_strings: int = 1_200_000  # every cell of a full sheet, and then some
    max_cpu_seconds: float = 120.0  # per pass over an xlsx; a full sheet takes about 10 s
    max_uncompressed_bytes: int = 512 * 1024 * 1024  # sum over the zip's entries
    max_zip_entries: int = 1000
    max_compression_ratio: float = 200.0  # per entry, uncompressed / compressed


class BadFile(Exception):
    """The file cannot be imported. `code` is stable; str(error) is a message a user can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# (row number, first cell, the other filled cells of the row with where they are: xlsx column
# letters or CSV field positions, at most MAX_OTHERS + 1 of them, so a reason can say "and
# more"; a CSV row with other fields also comes as its whole line, as the file wrote it);
# blank rows left out
Row = tuple[int, Cell, tuple[tuple[str, Cell], ...], str | None]
MAX_OTHERS = 5

CHUNK = 64 * 1024
# Characters of one CSV line or one XLSX cell: far beyond any real import file, and a bound on
# what a hostile file can make us hold (an XLSX cell is at most 32,767 characters in Excel).
MAX_TEXT = 1024 * 1024
SAVE_AS = "Save it from Excel as an Excel Workbook (.xlsx) or CSV UTF-8 (.csv) and upload it again."
