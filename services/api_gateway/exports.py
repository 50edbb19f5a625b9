"""The caller-number list written out as CSV or xlsx, and the audit history as CSV; no cell can
run as a formula."""

import codecs
import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import asyncpg

from shared.spreadsheets import formula_safe, text_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ("Caller Number", "Organization Unit", "Organization Unit ID", "Description", "Created")
# A row as exported: number, OU name ("Unorganized" for none), OU id, description, created.
ExportRow = tuple[str, str, str, str, datetime]


def export_row(
    number: str,
    org_unit_id: str | None,
    org_unit_name: str | None,
    description: str,
    created_at: datetime,
) -> ExportRow:
    name = "Unorganized" if org_unit_id is None else (org_unit_name or org_unit_id)
    return number, name, org_unit_id or "", description, created_at


def csv_chunk(rows: Sequence[ExportRow], *, header: bool) -> bytes:
    """UTF-8 CSV with CRLF; the BOM on the header chunk makes Excel read it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(HEADER)
    for number, name, org_unit_id, description, created_at in rows:
        writer.writerow(
            (
                number,
                formula_safe(name),
                formula_safe(org_unit_id),
                formula_safe(description),
                created_at.isoformat(),
            )
        )
    data = buffer.getvalue().encode("utf-8")
    return codecs.BOM_UTF8 + data if header else data


class XlsxExportWriter:
    """Writes the list incrementally with flat memory; every value is a text cell."""

    def __init__(self, path: Path) -> None:
        self._workbook = text_workbook(path)
        self._sheet = self._workbook.add_worksheet("Caller numbers")
        for column, width in enumerate((24, 24, 20, 40, 26)):
            self._sheet.set_column(column, column, width)
        self._sheet.write_row(0, 0, HEADER, self._workbook.add_format({"bold": True}))
        self._sheet.freeze_panes(1, 0)
        self._next_row = 1

    def write(self, rows: Sequence[ExportRow]) -> None:
        sheet, row = self._sheet, self._next_row
        for number, name, org_unit_id, description, created_at in rows:
            sheet.write_string(row, 0, number)  # text, so leading zeros stay
            sheet.write_string(row, 1, name)
            sheet.write_string(row, 2, org_unit_id)
            sheet.write_string(row, 3, description)
            sheet.write_string(row, 4, created_at.isoformat())
            row += 1
        self._next_row = row

    def close(self) -> None:
        self._workbook.close()


AUDIT_HEADER = (
    "Changed",
    "Caller Number",
    "Action",
    "Organization Unit ID Before",
    "Description Before",
    "Organization Unit ID After",
    "Description After",
    "By",
    "Role",
    "Command",
    "Bulk Operation",
    "Import Task",
    "Import Row",
)


def audit_csv_chunk(records: Sequence[asyncpg.Record], *, header: bool) -> bytes:
    """Audit records (rows of caller_number_audit) as UTF-8 CSV, as `csv_chunk`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(AUDIT_HEADER)
    for r in records:
        writer.writerow(
            (
                r["changed_at"].isoformat(),
                r["number"],
                r["action"],
                *(
                    formula_safe(r[field] or "")
                    for field in (
                        "org_unit_id_before",
                        "description_before",
                        "org_unit_id_after",
                        "description_after",
                        "principal_sub",
                        "principal_role",
                    )
                ),
                *("" if r[field] is None else str(r[field]) for field in _SOURCES),
            )
        )
    data = buffer.getvalue().encode("utf-8")
    return codecs.BOM_UTF8 + data if header else data


_SOURCES = ("command_id", "bulk_operation_id", "import_task_id", "import_row")
