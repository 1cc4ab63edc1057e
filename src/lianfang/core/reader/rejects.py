"""The rejects file and CSV out of a table: UTF-8 with BOM, CRLF, quotes only where needed."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from lianfang.core.reader.table import _BATCH_ROWS, _BOM, _normalise_name
from lianfang.core.reader.values import _to_text_column

REASON_COLUMN = "reason"

# OWASP "CSV injection": a cell starting with one of these is a formula (or DDE call) to Excel and
# LibreOffice. Every export writes such text cells with a leading apostrophe (CSV) or as text
# cells (XLSX), through :func:`inert`; the reader drops that apostrophe again (table.py), so a
# rejects file can be fixed and uploaded as it is.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = r"^([=+\-@\t\r])"


def inert(value):
    """``value`` as a spreadsheet will not run it: text starting with ``= + - @``, a tab or a CR
    gets a leading ``'``; anything else (numbers, dates, other text) is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _inert_column(column):
    """:func:`inert` over an Arrow string column (vectorised; untouched when nothing starts so)."""
    return pc.replace_substring_regex(column, pattern=_FORMULA_START, replacement=r"'\1")


def to_csv_bytes(table: pa.Table, *, bom: bool = True) -> bytes:
    """Serialise ``table`` as CSV (header always, CRLF, quotes only where needed).

    Every column is written as text, nulls as empty cells, formulas made inert
    (:func:`inert`).  ``bom=True`` prefixes a UTF-8 BOM so Excel opens Chinese text correctly.
    """
    sink = pa.BufferOutputStream()
    if bom:
        sink.write(_BOM.encode())
    _write_csv(_as_text_table(table), sink)
    return sink.getvalue().to_pybytes()


def write_rejects(path, rows: pa.Table, reasons: Sequence[str] | pa.Array | pa.ChunkedArray) -> None:
    """Write rejected ``rows`` with a last column ``reason`` as UTF-8-with-BOM CSV.

    The original columns keep their order; a ``reason`` column already present in
    ``rows`` is dropped first so re-uploaded rejects files don't accumulate them.
    With no rows, only the header is written.
    """
    if not isinstance(reasons, (pa.Array, pa.ChunkedArray)):
        reasons = pa.array(list(reasons), type=pa.string())
    if len(reasons) != rows.num_rows:
        raise ValueError(f"{len(reasons)} reasons for {rows.num_rows} rows")
    keep = [i for i, n in enumerate(rows.column_names) if _normalise_name(n) != REASON_COLUMN]
    table = _as_text_table(rows.select(keep))
    table = table.append_column(REASON_COLUMN, _inert_column(_as_text(reasons)))
    with pa.OSFile(os.fspath(path), "wb") as sink:
        sink.write(_BOM.encode())
        _write_csv(table, sink)


def _write_csv(table: pa.Table, sink) -> None:
    """Header always; CRLF; quotes only where needed, like Excel's own CSV.

    (Arrow's writer quotes every string value, so the csv module writes the text.)
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([inert(name) for name in table.column_names])
    for batch in table.to_batches(max_chunksize=_BATCH_ROWS):
        writer.writerows(zip(*(c.to_pylist() for c in batch.columns), strict=True))
        sink.write(buf.getvalue().encode())
        buf.seek(0)
        buf.truncate()
    sink.write(buf.getvalue().encode())


def _as_text(array, name: str = REASON_COLUMN) -> pa.ChunkedArray | pa.Array:
    if not pa.types.is_string(array.type):
        array = _to_text_column(array, name)
    return pc.fill_null(array, "") if array.null_count else array


def _as_text_table(table: pa.Table) -> pa.Table:
    """Every column as text with formulas made inert (the table is about to be written out)."""
    columns = [
        _inert_column(_as_text(table.column(i), table.column_names[i])) for i in range(table.num_columns)
    ]
    return pa.table(columns, names=table.column_names) if columns else table
