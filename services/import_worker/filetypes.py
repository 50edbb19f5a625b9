"""What reading an import file needs in either format: kinds, cells, limits and the refusal."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from shared.spreadsheets import TEMPLATE_HEADER

Kind = Literal["xlsx", "csv"]
Cell = str | int | float | bool | datetime | date | time | timedelta | None

HEADER = TEMPLATE_HEADER  # the template's column is the one a file must have


@dataclass(frozen=True)
class FileLimits:
    max_rows: int = 1_000_000  # data rows (blank rows not counted)
    max_uncompressed_bytes: int = 512 * 1024 * 1024  # sum over the zip's entries
    max_zip_entries: int = 1000
    max_compression_ratio: float = 200.0  # per entry, uncompressed / compressed


class BadFile(Exception):
    """The file cannot be imported. `code` is stable; str(error) is a message a user can act on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# (row number, first cell, whether another cell of the row holds something); blank rows left out
Row = tuple[int, Cell, bool]

CHUNK = 64 * 1024
# Characters of one CSV line or one XLSX cell: far beyond any real import file, and a bound on
# what a hostile file can make us hold (an XLSX cell is at most 32,767 characters in Excel).
MAX_TEXT = 1024 * 1024
SAVE_AS = "Save it from Excel as an Excel Workbook (.xlsx) or CSV UTF-8 (.csv) and upload it again."
