"""The rules for the cells of one import row, as the reader says the cells show them: the
Caller Number cell here; the OU and description are checked by the registry, which knows them."""

import re
import unicodedata
from typing import NamedTuple

from services.import_worker.columns import Line, column_name
from services.import_worker.filetypes import Cell, Refused
from services.import_worker.formats import FORMAT_AS_TEXT
from shared.rules import IMPORT_MAX_DIGITS, Reason, Rejection, check_number, storable
from shared.spreadsheets import MAX_CELL_CHARS

NUMBER_NOT_TEXT = Rejection(
    Reason.NUMBER_NOT_TEXT,
    "The cell holds a number in scientific form (such as 1.38E+10), which Excel made of a "
    f"long number and may have rounded: {FORMAT_AS_TEXT}",
)
# What Excel's General format makes of a long number, in a CSV it saved or a cell typed so.
_SCIENTIFIC = re.compile(r"[0-9](?:[.,][0-9]*)?[eE][+-]?[0-9]+")
# Characters a user cannot see or tell from a space: controls, format marks, separators.
_INVISIBLE_CATEGORIES = frozenset(["Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"])


def check_cell(value: Cell) -> tuple[str, str, Rejection | None]:
    """(the cell as written, the trimmed candidate number, why it is refused or None).

    "As written" is what the cell displays, with invisible characters made visible as <U+200B>,
    capped as the report caps it so that a padded cell does not bloat the row events.
    """
    if isinstance(value, Refused):
        return value.as_written[:MAX_CELL_CHARS], value.as_written, value.rejection
    text = value or ""
    number, rejection = check_number(text, max_digits=IMPORT_MAX_DIGITS)
    if rejection is not None and rejection.reason is Reason.NOT_DIGITS:
        rejection = _not_digits(number)
        return visible(text)[:MAX_CELL_CHARS], number, rejection
    return text[:MAX_CELL_CHARS], number, rejection


def visible(text: str) -> str:
    """The text with each invisible character written as its code point, e.g. <U+200B>."""
    if text.isprintable():  # no C* or Z* character but the ASCII space
        return text
    return "".join(f"<U+{ord(char):04X}>" if _invisible(char) else char for char in text)


def _not_digits(number: str) -> Rejection:
    if _SCIENTIFIC.fullmatch(number):
        return NUMBER_NOT_TEXT
    message = "A caller number may hold digits 0-9 only"
    odd = next(char for char in number if not "0" <= char <= "9")
    if _invisible(odd):
        message += f"; it holds {character_name(odd)}, which cannot be seen"
    else:
        message += f"; it holds {odd!r}"
    return Rejection(Reason.NOT_DIGITS, message + ".")


# Control characters have no Unicode name, only aliases (Unicode's NameAliases.txt).
_CONTROL_NAMES = {
    0x00: "NULL",
    0x07: "ALERT",
    0x08: "BACKSPACE",
    0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED (a line break)",
    0x0B: "LINE TABULATION",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN (a line break)",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE (a line break)",
}


def character_name(char: str) -> str:
    """`U+000A LINE FEED (a line break)`, `U+200B ZERO WIDTH SPACE`: its code point and name."""
    code = ord(char)
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(code, "a control character")
    return f"U+{code:04X} {name}"


def _invisible(char: str) -> bool:
    return char != " " and unicodedata.category(char) in _INVISIBLE_CATEGORIES


class CheckedLine(NamedTuple):
    as_written: str
    number: str
    org_unit: str | None  # the OU cell's text; None when empty (the upload's OU applies)
    description: str | None  # likewise, the upload's description
    rejection: Rejection | None


# What a row's own OU or description cell that is not text fails with.
_NOT_TEXT = {"org_unit": Reason.ORG_UNIT_NOT_FOUND, "description": Reason.DESCRIPTION_INVALID}


def check_line(line: Line) -> CheckedLine:
    """The Caller Number cell's check, then the OU and description cells': text (or plain
    digits), trimmed; a cell that shows anything else (a date, a decimal, an error, a formula
    without a result) fails the row."""
    as_written, number, rejection = check_cell(line.number)
    if line.org_unit is None and line.description is None:  # the hot path: column A alone
        return CheckedLine(as_written, number, None, None, rejection)
    org_unit, org_unit_rejection = _text(line.org_unit, "org_unit")
    description, description_rejection = _text(line.description, "description")
    rejection = rejection or org_unit_rejection or description_rejection
    return CheckedLine(as_written, number, org_unit, description, rejection)


def _text(cell: Cell, field: str) -> tuple[str | None, Rejection | None]:
    if isinstance(cell, Refused):
        if cell.rejection.reason is Reason.FORMULA_WITHOUT_RESULT:
            return cell.as_written[:MAX_CELL_CHARS] or None, cell.rejection
        name = column_name(field)
        shows = cell.shows or repr(cell.as_written[:40])  # as its format displays it, if not digits
        message = f"The {name} cell shows {shows}, which is not text: "
        message += f"format the {name} column as Text and enter it again."
        return cell.as_written[:MAX_CELL_CHARS], Rejection(_NOT_TEXT[field], message)
    text = (cell or "").strip()[:MAX_CELL_CHARS]
    try:
        return storable(text) or None, None
    except ValueError as error:  # what neither PostgreSQL nor JSON can hold goes no further
        message = f"The {column_name(field)} cell cannot be stored: {error}."
        return visible(text), Rejection(_NOT_TEXT[field], message)
