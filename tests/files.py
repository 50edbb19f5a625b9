"""Import files made by the tests: .xlsx as Excel writes them, and .csv."""

import io
import zipfile

import xlsxwriter
from openpyxl import Workbook

HEADER = "Caller Number"


def xlsx(values: list[object | None], *, header: object = HEADER) -> bytes:
    """One column under `header`; None leaves a blank row; str cells are text, numbers numeric."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([header])
    for row, value in enumerate(values, start=2):
        cell = sheet.cell(row=row, column=1, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # openpyxl would make a formula of "=..."; Excel keeps it text
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv(lines: list[str], *, bom: bool = False, newline: str = "\r\n") -> bytes:
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def zip_bomb() -> bytes:
    """A workbook-shaped zip whose sheet inflates 1000-fold."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", " " * 50_000_000)
    return out.getvalue()


def table(rows: list[tuple[object, ...]], *, header: tuple[str, ...]) -> bytes:
    """Several columns under `header`, as openpyxl writes them; str cells are text."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row_number, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=row_number, column=column, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def table_by_xlsxwriter(rows: list[tuple[object, ...]], *, header: tuple[str, ...]) -> bytes:
    """The same, written by a second writer (XlsxWriter), strings never taken for formulas."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, header)
    for row_number, values in enumerate(rows, start=1):
        for column, value in enumerate(values):
            if isinstance(value, str):
                sheet.write_string(row_number, column, value)
            elif value is not None:
                sheet.write(row_number, column, value)
    workbook.close()
    return out.getvalue()
