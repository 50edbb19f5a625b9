"""Crafted cells of every type, style and value: each is a row outcome or a BadFile, never a crash.

A value that can raise (NaN under a date format, a style index past the table, a shared-string
index that is no number) must fail its row or the file with a reason, not stop the reader.
"""

from pathlib import Path
from tempfile import TemporaryDirectory
from xml.sax.saxutils import escape

from hypothesis import example, given
from hypothesis import strategies as st

from services.import_worker.cells import check_cell
from services.import_worker.filetypes import BadFile, FileLimits
from services.import_worker.readers import check_file, iter_rows
from tests.unit.test_displayed import crafted

cell_types = st.sampled_from([None, "n", "s", "str", "inlineStr", "b", "e", "d", "x"])
styles = st.sampled_from([None, "0", "1", "7", "-1", "x"])
special = st.sampled_from(["NaN", "inf", "-1", "1e308", "1e-308", "0", "1", "45000", "2024-13-45"])
values = st.one_of(special, special, st.text(max_size=12))
format_ids = st.sampled_from([0, 1, 3, 9, 14, 22, 46, 49, 999])


@st.composite
def cells(draw: st.DrawFn) -> str:
    kind, style, value = draw(cell_types), draw(styles), escape(draw(values))
    attributes = f' r="A2"{f" t={kind!r}" if kind else ""}{f" s={style!r}" if style else ""}'
    formula = "<f>B1</f>" if draw(st.booleans()) else ""
    body = f"<is><t>{value}</t></is>" if kind == "inlineStr" else f"<v>{value}</v>"
    return f"<c{attributes}>{formula}{body if draw(st.booleans()) else ''}</c>"


@given(cells(), format_ids, st.booleans())
@example('<c r="A2" s="1"><v>NaN</v></c>', 14, False)  # the field's crash: NaN as a date
@example('<c r="A2"><v>inf</v></c>', 0, False)
@example('<c r="A2" s="7"><v>1</v></c>', 0, False)  # a style past the table
def test_any_crafted_cell_is_a_row_outcome_or_a_bad_file(
    cell: str, format_id: int, stale: bool
) -> None:
    with TemporaryDirectory() as folder:
        extra = '<calcPr fullCalcOnLoad="1"/>' if stale else ""
        path = crafted(Path(folder), cell.replace("'", '"'), format_id=format_id, extra=extra)
        limits = FileLimits()
        try:
            for _, value in iter_rows(path, check_file(path, limits), limits):
                rejection = check_cell(value)[2]
                assert rejection is None or rejection.message
        except BadFile as error:
            assert str(error)
