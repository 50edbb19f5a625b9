"""Generated CSV files as spreadsheet apps write them, read back to what was written.

Each example draws rows (a caller number, sometimes more fields), a dialect (comma, semicolon,
tab), an encoding (UTF-8, UTF-8 with BOM, UTF-16 as Excel's Unicode Text) and Excel's sep= line;
Python's csv module writes it. Every non-blank row must come back, its first field exactly as
written, and a row with more fields must fail (naming them when the file tells its delimiter),
never import its first field.
"""

import csv
import io
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given
from hypothesis import strategies as st

from services.import_worker.cells import check_cell, visible
from services.import_worker.filetypes import FileLimits
from services.import_worker.readers import check_file, iter_rows

fields = st.text(alphabet="0123456789 ,;\t\"'+-\u200b", max_size=15)
rows = st.lists(st.lists(fields, min_size=1, max_size=3), min_size=1, max_size=10)


@given(
    rows,
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    st.booleans(),
)
def test_a_written_csv_reads_back_as_written(
    lines: list[list[str]], delimiter: str, encoding: str, sep_line: bool
) -> None:
    if encoding == "utf-16" and not sep_line:
        delimiter = "\t"  # Excel's Unicode Text: tabs, and no header line to tell otherwise
    buffer = io.StringIO()
    if sep_line:
        buffer.write(f"sep={delimiter}\r\n")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["Caller Number"])
    writer.writerows(lines)
    with TemporaryDirectory() as folder:
        path = Path(folder) / "numbers.csv"
        path.write_bytes(buffer.getvalue().encode(encoding))
        limits = FileLimits()
        found = {
            n: check_cell(cell) for n, cell in iter_rows(path, check_file(path, limits), limits)
        }
    if not (sep_line or delimiter == "," or encoding == "utf-16"):
        # A one-column header tells no delimiter: the file is read as RFC 4180's commas.
        body = buffer.getvalue().split("\r\n", 1)[1]
        lines = list(csv.reader(io.StringIO(body, newline="")))
    for row, line in enumerate(lines, start=2):
        if not "".join(line).strip():
            assert row not in found  # a blank line is skipped, keeping the numbering
            continue
        as_written, _, rejection = found.pop(row)
        if any(field.strip() for field in line[1:]):
            assert rejection is not None and rejection.reason == "unexpected_columns"
        else:
            assert as_written == (line[0] if rejection is None else visible(line[0]))
    assert not found  # no row invented
