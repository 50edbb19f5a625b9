"""The rule for one Caller Number cell of an import file, whatever type the file gave it."""

from datetime import date, time, timedelta

from services.import_worker.filetypes import Cell
from shared.rules import IMPORT_MAX_DIGITS, Reason, Rejection, check_number
from shared.spreadsheets import MAX_CELL_CHARS

# Excel keeps 15 significant digits of a number: anything longer may already be rounded.
_EXACT_LIMIT = 10**15

NUMBER_NOT_TEXT = Rejection(
    Reason.NUMBER_NOT_TEXT,
    "The cell holds a number, which Excel may have rounded or shown in scientific form "
    "(such as 1.38E+10): format the Caller Number column as Text and enter the number again.",
)
_NOT_A_NUMBER = (
    "The cell holds {kind}, not a caller number: format the Caller Number column as Text "
    "and enter the number again."
)


def check_cell(value: Cell) -> tuple[str, str, Rejection | None]:
    """(the cell as written, the trimmed candidate number, why it is refused or None)."""
    match value:
        case None | str():
            number, rejection = check_number(value or "", max_digits=IMPORT_MAX_DIGITS)
            # Capped as the report caps it: a padded cell must not bloat the row events.
            return (value or "")[:MAX_CELL_CHARS], number, rejection
        case bool():
            return _not_a_number("TRUE" if value else "FALSE", "TRUE or FALSE")
        case int() | float():
            return _check_numeric(value)
        case date() | time():
            return _not_a_number(value.isoformat(), "a date or time")
        case timedelta():
            return _not_a_number(str(value), "a duration")


def _check_numeric(value: int | float) -> tuple[str, str, Rejection | None]:
    written = str(value).removesuffix(".0")  # 13800138000.0 is the integer Excel shows
    exact = isinstance(value, int) or value.is_integer()
    if exact and 0 <= value < _EXACT_LIMIT:
        return written, str(int(value)), None
    return written, written, NUMBER_NOT_TEXT


def _not_a_number(written: str, kind: str) -> tuple[str, str, Rejection]:
    return written, written, Rejection(Reason.NOT_DIGITS, _NOT_A_NUMBER.format(kind=kind))
