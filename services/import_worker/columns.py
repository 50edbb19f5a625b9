"""The columns of an import file: Caller Number in column A, then the optional Organization Unit
and Description columns, in any order, recognised by their headers as users type them (case and
spacing do not matter; the British "Organisation Unit" too). Any other header fails the file."""

from typing import NamedTuple

from services.import_worker.filetypes import BadFile, Cell, Refused
from shared.spreadsheets import DESCRIPTION_HEADER, ORG_UNIT_HEADER, TEMPLATE_HEADER


class Line(NamedTuple):
    """What a data row's cells show: its number, and its own OU and description if given."""

    number: Cell
    org_unit: Cell = None
    description: Cell = None


# Where a column is (xlsx letter, CSV field position) => the Line field it fills.
Columns = dict[str, str]


def header_key(text: str) -> str:
    return " ".join(text.split()).casefold()


_FIELDS = {
    header_key(ORG_UNIT_HEADER): "org_unit",
    header_key("Organisation Unit"): "org_unit",
    header_key(DESCRIPTION_HEADER): "description",
}
_NAMES = {"org_unit": ORG_UNIT_HEADER, "description": DESCRIPTION_HEADER}
EXPECTED = f"'{TEMPLATE_HEADER}', then optionally '{ORG_UNIT_HEADER}' and '{DESCRIPTION_HEADER}'"


def optional_columns(headers: tuple[tuple[str, Cell], ...], noun: str) -> Columns:
    """The header row's cells after column A => the columns they name; BadFile
    `unexpected_columns` naming the first header that is unknown or repeated."""
    columns: Columns = {}
    for where, cell in headers:
        text = cell.as_written if isinstance(cell, Refused) else cell or ""
        field = _FIELDS.get(header_key(text))
        if field is None:
            message = f"The {noun} {where} has the header '{text.strip()[:40]}', which is not "
            raise BadFile("unexpected_columns", message + f"a column of the template: {EXPECTED}.")
        if field in columns.values():
            message = f"The {noun} {where} repeats the header '{_NAMES[field]}': keep one."
            raise BadFile("unexpected_columns", message)
        columns[where] = field
    return columns


def line_of(first: Cell, others: tuple[tuple[str, Cell], ...], columns: Columns) -> Line:
    """The row's Line; call only when every place in `others` is one of `columns`."""
    values = {columns[where]: cell for where, cell in others}
    return Line(first, values.get("org_unit"), values.get("description"))


def column_name(field: str) -> str:
    return _NAMES[field]
