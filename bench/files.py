"""Benchmark input files: N caller numbers as text, the way Excel saves them (shared strings)."""

from pathlib import Path

import xlsxwriter

CACHE = Path.home() / ".cache" / "caller-number-registry" / "bench"


def numbers(rows: int) -> list[str]:
    return [f"{13_000_000_000 + n}" for n in range(rows)]


def xlsx(rows: int) -> Path:
    path = CACHE / f"numbers-{rows}.xlsx"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        workbook = xlsxwriter.Workbook(str(partial), {"strings_to_numbers": False})
        sheet = workbook.add_worksheet("Caller Numbers")
        sheet.write_string(0, 0, "Caller Number")
        for row, number in enumerate(numbers(rows), start=1):
            sheet.write_string(row, 0, number)
        workbook.close()
        partial.rename(path)
    return path


def csv(rows: int) -> Path:
    path = CACHE / f"numbers-{rows}.csv"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_text("Caller Number\r\n" + "\r\n".join(numbers(rows)) + "\r\n")
    return path


# The OUs of the tenant an --ou-column benchmark imports into, as (id, name, parent id).
ORG_UNITS = [("sales", "Sales", None), ("north", "North", "sales"), ("south", "South", "sales")]
_ROW_TARGETS = [("Sales / North", "north desk"), ("south", ""), ("", "campaign")]


def xlsx_with_ou(rows: int) -> Path:
    """The same numbers with the optional Organization Unit (by path, by id, empty) and
    Description columns filled, cycling over ORG_UNITS: the per-row checks at full load."""
    path = CACHE / f"numbers-ou-{rows}.xlsx"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        workbook = xlsxwriter.Workbook(str(partial), {"strings_to_numbers": False})
        sheet = workbook.add_worksheet("Caller Numbers")
        sheet.write_row(0, 0, ["Caller Number", "Organization Unit", "Description"])
        for row, number in enumerate(numbers(rows), start=1):
            org_unit, description = _ROW_TARGETS[row % len(_ROW_TARGETS)]
            sheet.write_string(row, 0, number)
            if org_unit:
                sheet.write_string(row, 1, org_unit)
            if description:
                sheet.write_string(row, 2, description)
        workbook.close()
        partial.rename(path)
    return path
