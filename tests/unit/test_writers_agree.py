"""Generated workbooks, written by openpyxl, XlsxWriter and by hand, read to the same outcome.

Each example draws cells of random types and number formats, formulas, a hidden or chart sheet
before the data and a spelling of the part names; each writer writes it; the reader must give
the same report lines for all, and those lines must keep the properties the import promises:
no non-blank row vanishes, and a number is accepted only as the digits of its value.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from xml.sax.saxutils import escape

import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.styles.numbers import BUILTIN_FORMATS_REVERSE

from services.import_worker.cells import check_cell
from services.import_worker.filetypes import FileLimits
from services.import_worker.readers import check_file, iter_rows

HEADER = "Caller Number"
FORMATS = [
    None,
    "General",
    "0",
    "00000000000",
    "#",
    "@",
    "#,##0",
    "0.00",
    "0%",
    "0.00E+00",
    "yyyy-mm-dd",
    "[h]:mm:ss",
    '"$"#,##0',
    '"+86 "0',
]


@dataclass(frozen=True)
class Cell:
    value: object  # str (text or "=formula"), int, float, bool or None
    number_format: str | None
    beside: str | None  # a value in column B


# Floats of up to 15 significant digits: the writers store longer ones to other precisions.
fifteen_digit_floats = st.floats(min_value=0, max_value=1e16).map(lambda f: float(f"{f:.15G}"))
texts = st.text(alphabet="0123456789 +-\u200b", min_size=1, max_size=22)
values = st.one_of(
    texts,
    st.integers(min_value=0, max_value=10**16),
    fifteen_digit_floats,
    st.booleans(),
    st.sampled_from(["=B1", '="0"&"123"', "=1+1"]),
    st.none(),
)
cells = st.builds(
    Cell,
    values,
    st.sampled_from(FORMATS),
    st.one_of(st.none(), st.none(), st.sampled_from(["x", "7"])),
)


@dataclass(frozen=True)
class Book:
    cells: list[Cell]
    decoy: str  # what comes before the data sheet: "", "hidden", "veryHidden" or "chart"
    spelling: str  # "as written", "upper" or "mixed"


books = st.builds(
    Book,
    st.lists(cells, min_size=1, max_size=8),
    st.sampled_from(["", "hidden", "veryHidden", "chart"]),
    st.sampled_from(["as written", "upper", "mixed"]),
)


def by_openpyxl(path: Path, book: Book) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    if book.decoy in ("hidden", "veryHidden"):
        sheet.append([HEADER])
        sheet.append(["99999"])
        sheet.sheet_state = book.decoy
        sheet = workbook.create_sheet("Numbers")
        workbook.active = 1
    elif book.decoy == "chart":
        workbook.create_chartsheet("Chart", 0)
    sheet["A1"] = HEADER
    for row, cell in enumerate(book.cells, start=2):
        written = sheet.cell(row=row, column=1, value=cell.value)
        if isinstance(cell.value, str) and not cell.value.startswith("="):
            written.data_type = "s"
        if cell.number_format:
            written.number_format = cell.number_format
        if cell.beside:
            sheet.cell(row=row, column=2, value=cell.beside)
    workbook.save(path)


def by_xlsxwriter(path: Path, book: Book) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    if book.decoy in ("hidden", "veryHidden"):
        decoy = workbook.add_worksheet("Old")
        decoy.write_string(0, 0, HEADER)
        decoy.write_string(1, 0, "99999")
        decoy.hide() if book.decoy == "hidden" else decoy.very_hidden()
    chartsheet = workbook.add_chartsheet("Chart") if book.decoy == "chart" else None
    sheet = workbook.add_worksheet("Numbers")
    sheet.activate()
    if chartsheet is not None:
        chart = workbook.add_chart({"type": "line"})
        chart.add_series({"values": "=Numbers!$B$1:$B$2"})
        chartsheet.set_chart(chart)
    sheet.write_string(0, 0, HEADER)
    for row, cell in enumerate(book.cells, start=1):
        style = (
            workbook.add_format({"num_format": cell.number_format}) if cell.number_format else None
        )
        match cell.value:
            case None:
                sheet.write_blank(row, 0, None, style)
            case str() if cell.value.startswith("="):
                sheet.write_formula(row, 0, cell.value, style)
            case str():
                sheet.write_string(row, 0, cell.value, style)
            case bool():
                sheet.write_boolean(row, 0, cell.value, style)
            case _:
                sheet.write_number(row, 0, cell.value, style)
        if cell.beside:
            sheet.write_string(row, 1, cell.beside)
    workbook.close()


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"


def by_hand(path: Path, book: Book) -> None:
    """The parts as a third kind of producer writes them (SheetJS, pandas' own writers):
    inline strings, formulas without results, custom format ids, absolute targets, parts
    under other names and no shared-strings part."""
    formats = [None, *dict.fromkeys(c.number_format for c in book.cells if c.number_format)]
    own = [code for code in formats[1:] if code not in BUILTIN_FORMATS_REVERSE]
    custom = {code: 164 + n for n, code in enumerate(own)}
    ids = [
        BUILTIN_FORMATS_REVERSE.get(code, custom.get(code, 0)) if code else 0 for code in formats
    ]
    rows = [f'<row r="1">{_text_cell("A1", HEADER)}</row>']
    for n, cell in enumerate(book.cells, start=2):
        style = formats.index(cell.number_format) if cell.number_format else 0
        beside = _text_cell(f"B{n}", cell.beside) if cell.beside else ""
        rows.append(f'<row r="{n}">{_cell(f"A{n}", cell.value, style)}{beside}</row>')
    sheets, relationships = [], []
    if book.decoy:
        state = "" if book.decoy == "chart" else f' state="{book.decoy}"'
        kind = "chartsheet" if book.decoy == "chart" else "worksheet"
        sheets.append(f'<sheet name="Decoy" sheetId="2"{state} r:id="rId9"/>')
        relationships.append(
            f'<Relationship Id="rId9" Type="{_RELS}/{kind}" Target="/x/decoy.xml"/>'
        )
    sheets.append('<sheet name="Numbers" sheetId="1" r:id="rId1"/>')
    relationships.append(f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="/x/data.xml"/>')
    relationships.append(f'<Relationship Id="rId2" Type="{_RELS}/styles" Target="looks.xml"/>')
    number_formats = "".join(
        f'<numFmt numFmtId="{number}" formatCode="{escape(code, {chr(34): "&quot;"})}"/>'
        for code, number in custom.items()
    )
    parts = {
        "[Content_Types].xml": "<Types/>",
        "_rels/.rels": f'<Relationships xmlns="{_PACKAGE}"><Relationship Id="rId1" '
        f'Type="{_RELS}/officeDocument" Target="x/book.xml"/></Relationships>',
        "x/book.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>{"".join(sheets)}'
        '</sheets><calcPr calcId="0"/></workbook>',
        "x/_rels/book.xml.rels": f'<Relationships xmlns="{_PACKAGE}">{"".join(relationships)}'
        "</Relationships>",
        "x/looks.xml": f'<styleSheet xmlns="{_MAIN}"><numFmts>{number_formats}</numFmts><cellXfs>'
        + "".join(f'<xf numFmtId="{number}"/>' for number in ids)
        + "</cellXfs></styleSheet>",
        "x/data.xml": f'<worksheet xmlns="{_MAIN}"><sheetData>{"".join(rows)}</sheetData>'
        "</worksheet>",
        "x/decoy.xml": f'<worksheet xmlns="{_MAIN}"><sheetData><row r="1">'
        f'{_text_cell("A1", HEADER)}</row><row r="2">{_text_cell("A2", "99999")}</row>'
        "</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


def _text_cell(ref: str, text: str, style: int = 0) -> str:
    text = f'<t xml:space="preserve">{escape(text)}</t>'
    return f'<c r="{ref}" s="{style}" t="inlineStr"><is>{text}</is></c>'


def _cell(ref: str, value: object, style: int) -> str:
    match value:
        case None:
            return f'<c r="{ref}" s="{style}"/>'
        case str() if value.startswith("="):
            return f'<c r="{ref}" s="{style}"><f>{escape(value[1:])}</f></c>'
        case str():
            return _text_cell(ref, value, style)
        case bool():
            return f'<c r="{ref}" s="{style}" t="b"><v>{int(value)}</v></c>'
        case _:
            return f'<c r="{ref}" s="{style}"><v>{value!r}</v></c>'


def respell(path: Path, spelling: str) -> None:
    """Rename the parts: OPC part names compare case-insensitively, so nothing may change."""
    if spelling == "as written":
        return
    with zipfile.ZipFile(path) as source:
        parts = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts:
            if spelling == "upper":
                name = name.upper()
            else:
                name = name.replace("sharedStrings", "SharedStrings").replace("styles", "Styles")
            target.writestr(name, data)


def report_lines(path: Path) -> list[tuple[int, str, str | None]]:
    limits = FileLimits()
    kind = check_file(path, limits)
    lines = []
    for row_number, cell in iter_rows(path, kind, limits):
        as_written, number, rejection = check_cell(cell)
        lines.append(
            (row_number, as_written if rejection else number, rejection and rejection.reason)
        )
    return lines


@given(books)
def test_both_writers_give_the_same_report_lines_and_keep_the_promises(book: Book) -> None:
    with TemporaryDirectory() as folder:
        found = []
        for write in (by_openpyxl, by_xlsxwriter, by_hand):
            path = Path(folder) / f"{write.__name__}.xlsx"
            write(path, book)
            respell(path, book.spelling)
            found.append(report_lines(path))
    assert found[0] == found[1] == found[2]
    lines = {row: (shown, reason) for row, shown, reason in found[0]}
    for row, cell in enumerate(book.cells, start=2):
        if cell.beside:
            assert lines[row][1] == "unexpected_columns"
        elif isinstance(cell.value, str) and cell.value.startswith("="):
            assert lines[row] == ("", "formula_without_result")  # never vanishes, never 0
        elif row in lines and lines[row][1] is None:
            _assert_accepted_as_its_digits(cell, lines[row][0])
        elif cell.value not in (None, "") and not str(cell.value).isspace():
            assert row in lines or cell.number_format == "#"  # "#" shows 0 as nothing


def _assert_accepted_as_its_digits(cell: Cell, number: str) -> None:
    if isinstance(cell.value, str):
        assert number == cell.value.strip()
    else:
        assert not isinstance(cell.value, bool)
        assert isinstance(cell.value, int | float) and int(number) == cell.value
        assert cell.number_format in (None, "General", "0", "00000000000", "#", "@")
        assert len(number) >= (11 if cell.number_format == "00000000000" else 1)


def _without_recalculation(path: Path) -> None:
    """The workbook as an office suite saves it after calculating: no fullCalcOnLoad."""
    with zipfile.ZipFile(path) as source:
        parts = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts:
            target.writestr(name, data.replace(b' fullCalcOnLoad="1"', b""))


@given(
    st.one_of(st.integers(min_value=0, max_value=10**16), fifteen_digit_floats, texts),
    st.sampled_from(FORMATS),
    st.booleans(),
)
def test_a_formula_counts_by_its_stored_result_only_when_it_is_current(
    result: object, number_format: str | None, stale: bool
) -> None:
    """A formula with a current result reads as a plain cell holding that result would."""
    with TemporaryDirectory() as folder:
        found = []
        for formula in (True, False):
            path = Path(folder) / f"{formula}.xlsx"
            workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
            sheet = workbook.add_worksheet()
            style = workbook.add_format({"num_format": number_format}) if number_format else None
            sheet.write_string(0, 0, HEADER)
            if formula:
                sheet.write_formula(1, 0, "=Other!A1", style, result)
            elif isinstance(result, str):
                sheet.write_string(1, 0, result, style)
            else:
                sheet.write_number(1, 0, result, style)
            workbook.close()
            if not stale:
                _without_recalculation(path)
            found.append(report_lines(path))
    if stale:
        assert found[0] == [(2, "", "formula_without_result")]
    else:
        assert found[0] == found[1]
