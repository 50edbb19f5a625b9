"""The rule for one Caller Number cell of an import file, as the reader says the cell shows it."""

import re
import unicodedata

from services.import_worker.filetypes import Cell, Refused
from services.import_worker.formats import FORMAT_AS_TEXT
from shared.rules import IMPORT_MAX_DIGITS, Reason, Rejection, check_number
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
