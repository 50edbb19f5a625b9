"""What Excel displays for a numeric cell under its number format: plain digits, or what else.

A caller number counts only when its cell displays plain digits: the General format (and the
Text format "@", which shows a number as General) with a whole number of up to 15 digits, as
Excel's formula bar shows it whatever the column width; or a format made only of the digit
placeholders 0 and # ("0", "00000000000", "#"), zero-padded to its count of 0s. Any other
display (decimals, thousands separators, scientific, currency, percent, date, time, duration,
text around the number) fails the row with a reason that says what the cell shows.
"""

import math
import re
from dataclasses import dataclass
from datetime import datetime

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import from_excel

from services.import_worker.filetypes import Refused
from shared.rules import Reason, Rejection

# Excel keeps 15 significant digits of a number: anything longer may already be rounded.
_EXACT_LIMIT = 10**15
# Locale-specific builtin ids that openpyxl does not list: East Asian dates and times.
_LOCALE_DATE_IDS = frozenset([*range(27, 37), *range(50, 59)])
_TOKENS = re.compile(r'"[^"]*"?|\\.?|\[[^\]]*\]?|[^"\\[]')
_LITERAL = re.compile(r'"[^"]*"|\\.')
_BRACKET = re.compile(r"\[[^\]]*\]")
_SPACING = re.compile(r"_.|\* ")  # _x leaves the width of x, "* " fills with spaces
_INTEGER = re.compile(r"[+-]?[0-9]+")
_CURRENCY = re.compile(r"[$€£¥₩₹¤]")

FORMAT_AS_TEXT = "format the Caller Number column as Text and enter the number again."
TOO_PRECISE = (
    "The cell holds a number of more than 15 digits, which Excel rounds and shows in "
    f"scientific form (such as 1.38E+19): {FORMAT_AS_TEXT}"
)


@dataclass(frozen=True)
class _Section:
    """One ;-separated part of a format code: None shows plain digits, else what it shows."""

    shows: str | None
    zeros: int = 0  # zero padding: the count of 0 placeholders


_GENERAL = _Section(None)


class NumberFormat:
    """A format code, classified once per cell style; `show` is the hot path per cell."""

    def __init__(self, code: str) -> None:
        sections = [_section(part) for part in _split(code)] or [_GENERAL]
        if is_timedelta_format(code):
            sections = [_Section("a duration")]
        elif is_date_format(code):
            sections = [_Section("a date or time")]
        self._positive = sections[0]
        self._zero = sections[2] if len(sections) > 2 else sections[0]
        self._is_date = sections[0].shows == "a date or time"

    def show(self, text: str, epoch: datetime) -> str | Refused:
        """The digits the cell displays for the stored number `text`, or why not digits."""
        section = self._positive
        if text.isdigit() and text.isascii() and len(text) < 16:
            # The hot path: a whole number as writers store it, shown in its first section.
            digits = str(int(text))  # "0123" stored is the number 123
            if digits != "0" and section.shows is None:
                return digits.zfill(section.zeros)  # General has no zeros to pad
        return self._show(text, epoch)

    def _show(self, text: str, epoch: datetime) -> str | Refused:
        try:
            number: int | float = int(text) if _INTEGER.fullmatch(text) else float(text)
        except ValueError:
            return _refused(text, Reason.NOT_DIGITS, "The cell holds a damaged number value.")
        if isinstance(number, float) and not math.isfinite(number):
            return _refused(text, Reason.NOT_DIGITS, "The cell holds no number Excel can show.")
        section = self._zero if number == 0 else self._positive
        written = _general(number)
        if number < 0:
            return _refused(written, Reason.NOT_DIGITS, "The cell holds a negative number.")
        if section.shows is not None:
            if self._is_date:
                written = _as_date(number, epoch) or written
            return _not_digits(written, section.shows)
        if number != int(number):
            return _not_digits(written, "a number with decimals")
        if number >= _EXACT_LIMIT:
            return Refused(written, Rejection(Reason.NUMBER_NOT_TEXT, TOO_PRECISE))
        digits = str(int(number))
        if section is _GENERAL:
            return digits
        # "#" shows nothing for zero; "000" pads with zeros to three digits.
        return digits.zfill(section.zeros) if digits != "0" or section.zeros else ""


def format_code(format_id: str, custom: dict[str, str]) -> str:
    """The code of a style's numFmtId: the workbook's own, or Excel's builtin one."""
    if format_id in custom:
        return custom[format_id]
    number = int(format_id) if format_id.isdecimal() else 0
    if number in _LOCALE_DATE_IDS:
        return "yyyy-mm-dd"
    code: str = BUILTIN_FORMATS.get(number, "General")  # Excel shows an unknown id as General
    return code


def _split(code: str) -> list[str]:
    """The format's sections: positive; negative; zero; text (a ; in quotes is no separator)."""
    sections = [""]
    for token in _TOKENS.findall(code):
        if token == ";":
            sections.append("")
        else:
            sections[-1] += token
    return sections[:4]


def _section(part: str) -> _Section:
    """What one section shows for a non-negative number (dates are told apart before)."""
    brackets = [b.lower() for b in _BRACKET.findall(part)]
    if any(b[1:2] in "<>=" for b in brackets):
        return _Section("a number in a conditional format")
    if any(b.startswith("[$") and not b.startswith("[$-") for b in brackets):
        return _Section("an amount of money")
    bare = _SPACING.sub("", _BRACKET.sub("", part))
    literals = _LITERAL.findall(bare)
    bare = _LITERAL.sub("", bare).strip()
    if _CURRENCY.search(bare) or any(_CURRENCY.search(literal) for literal in literals):
        return _Section("an amount of money")
    text_around = any(literal.strip('"\\ ') for literal in literals)
    if bare.lower() in ("general", "@", "") and not text_around:
        return _GENERAL if bare else _Section("nothing, as its number format hides the value")
    bare = re.sub("general", "", bare, flags=re.IGNORECASE)
    for sign, shows in (
        ("%", "a percentage"),
        ("e", "a number in scientific form"),
        (".", "a number with decimals"),
        (",", "a number with thousands separators"),
        ("/", "a fraction"),
        ("?", "a number padded with spaces"),
    ):
        if sign in bare.lower():
            return _Section(shows)
    if text_around:
        return _Section("a number with text around it")
    if bare.strip("0#") == "":
        return _Section(None, zeros=bare.count("0"))
    return _Section(f"a number in the custom format {part!r}")


def _general(number: int | float) -> str:
    """The number as Excel's General format shows it: 15 significant digits at most."""
    if abs(number) < _EXACT_LIMIT and number == int(number):
        return str(int(number))
    return f"{number:.15G}"  # 1.5, 1E+15, 1.23456789012346E+19


def _as_date(number: int | float, epoch: datetime) -> str | None:
    try:
        shown = from_excel(number, epoch=epoch)
    except (OverflowError, ValueError):
        return None
    return shown.isoformat() if shown is not None else None


def _not_digits(written: str, shows: str) -> Refused:
    message = f"The cell shows {shows} ({written}), not a caller number: {FORMAT_AS_TEXT}"
    return Refused(written, Rejection(Reason.NUMBER_NOT_TEXT, message), f"{shows} ({written})")


def _refused(written: str, reason: Reason, message: str) -> Refused:
    return Refused(written, Rejection(reason, message))


GENERAL = NumberFormat("General")
