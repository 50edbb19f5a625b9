"""Import end to end for the kinds of cell the field found wrong: the user's report shows them."""

import io

import httpx
import xlsxwriter

from tests.e2e.test_imports import finished, import_tenant, report, upload


def workbook(
    rows: list[tuple[object, str | None]], *, beside: dict[int, str] | None = None
) -> bytes:
    """Column A under the header as XlsxWriter writes it: (value, number format) per row."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("Numbers")
    sheet.write_string(0, 0, "Caller Number")
    for row, (value, number_format) in enumerate(rows, start=1):
        style = book.add_format({"num_format": number_format}) if number_format else None
        if isinstance(value, str) and value.startswith("="):
            sheet.write_formula(row, 0, value, style)
        else:
            sheet.write(row, 0, value, style)
    for row, value in (beside or {}).items():
        sheet.write_string(row - 1, 1, value)
    book.close()
    return out.getvalue()


async def test_each_cell_is_imported_as_displayed_or_fails_saying_why(
    http: httpx.AsyncClient,
) -> None:
    _, admin = await import_tenant(http)
    content = workbook(
        [
            (2150001234, "00000000000"),  # row 2: Excel shows 02150001234
            (13800138000, None),  # 3
            (2150001235, "#,##0"),  # 4: shows 2,150,001,235
            ("=B2", None),  # 5: XlsxWriter stores 0 and asks for a recalculation
            ("13800138001", None),  # 6: a value beside it in column B
        ],
        beside={6: "note"},
    )
    task = await upload(http, admin, content)
    done = await finished(http, admin, task["id"])
    assert (done["counters"]["succeeded"], done["counters"]["failed"]) == (2, 3)
    lines = {line[0]: line[1:] for line in (await report(http, admin, task["id"]))[1:]}
    assert lines[2][:2] == ("02150001234", "success")
    assert lines[3][:2] == ("13800138000", "success")
    assert lines[4][1] == "failure" and "thousands separators" in lines[4][2]
    assert lines[5][1] == "failure" and "formula" in lines[5][2]
    assert lines[6][1] == "failure" and "column B" in lines[6][2]


async def test_excels_unicode_text_with_invisible_characters_shows_and_names_them(
    http: httpx.AsyncClient,
) -> None:
    _, admin = await import_tenant(http)
    text = "sep=\t\r\nCaller Number\r\n0211111\r\n138\u200b00138000\r\n2,150,001,234\r\n"
    task = await upload(http, admin, text.encode("utf-16"), name="numbers.txt")
    await finished(http, admin, task["id"])
    lines = {line[0]: line[1:] for line in (await report(http, admin, task["id"]))[1:]}
    assert lines[2][:2] == ("0211111", "success")
    assert lines[3][:2] == ("138<U+200B>00138000", "failure")
    assert "U+200B ZERO WIDTH SPACE" in lines[3][2]
    assert lines[4][:2] == ("2,150,001,234", "failure")  # tab-separated: one field, not digits
