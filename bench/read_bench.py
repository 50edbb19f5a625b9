"""The import reader alone over an N-row .xlsx or .csv: rows/s and the process's peak RSS.

    .venv/bin/python -m bench.read_bench --rows 1000000 --format xlsx

Times what the worker does to a file before and while it sends rows: check_file, then every
row through iter_rows and check_cell (count_data_rows is the same pass again). The file is the
import benchmark's (bench/files.py): N text numbers in shared strings, as Excel saves them.
"""

import argparse
import resource
import time
from pathlib import Path

import xlsxwriter

from bench import files
from services.import_worker.cells import check_cell
from services.import_worker.filetypes import FileLimits
from services.import_worker.readers import check_file, iter_rows


def numeric_xlsx(rows: int) -> Path:
    """N numeric cells under the zero-padding format 00000000000, as a script writes them."""
    path = files.CACHE / f"numeric-{rows}.xlsx"
    if not path.exists():
        files.CACHE.mkdir(parents=True, exist_ok=True)
        workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        sheet = workbook.add_worksheet("Caller Numbers")
        padded = workbook.add_format({"num_format": "00000000000"})
        sheet.write_string(0, 0, "Caller Number")
        for row in range(1, rows + 1):
            sheet.write_number(row, 0, 2_000_000_000 + row, padded)
        workbook.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["xlsx", "numeric-xlsx", "csv"], default="xlsx")
    args = parser.parse_args()
    make = {"xlsx": files.xlsx, "numeric-xlsx": numeric_xlsx, "csv": files.csv}[args.format]
    path = make(args.rows)
    limits = FileLimits(max_rows=1_048_575)
    started, cpu_started = time.perf_counter(), time.process_time()
    kind = check_file(path, limits)
    accepted = sum(1 for _, cell in iter_rows(path, kind, limits) if check_cell(cell)[2] is None)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started  # the figure to compare on a busy machine
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.rows:,} rows ({accepted:,} accepted) in {seconds:.1f} s: "
        f"{args.rows / seconds:,.0f} rows/s; CPU {cpu:.1f} s: {args.rows / cpu:,.0f} rows per "
        f"CPU second; peak RSS {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
