"""XLSX: the first worksheet of a workbook, read with openpyxl (imported on first use)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from lianfang.core.reader.errors import ImportFileError, _no_header, _unreadable
from lianfang.core.reader.table import _assemble, _extra_text, _header
from lianfang.core.reader.values import _cell_text


def _read_xlsx(path) -> pa.Table:
    from openpyxl import load_workbook

    try:
        # A file object, so openpyxl doesn't judge by the extension (renamed uploads, temp files).
        f = open(path, "rb")  # closed in the finally below
    except OSError as e:
        raise _unreadable(e.strerror or type(e).__name__) from e
    try:
        wb = load_workbook(f, read_only=True, data_only=True)
        try:
            return _read_worksheet(wb)
        finally:
            wb.close()
    except ImportFileError:
        raise
    except Exception as e:  # whatever openpyxl/zipfile/XML parsing throws: the file is unusable
        raise _unreadable(type(e).__name__) from e
    finally:
        f.close()


def _read_worksheet(wb) -> pa.Table:
    if not wb.worksheets:
        raise _no_header()
    ws = wb.worksheets[0]
    ws.reset_dimensions()  # don't trust the <dimension> tag; read every cell present
    source = ws.iter_rows(values_only=True)
    header = next(source, None)
    names = _header([_cell_text(v) for v in header or ()], "xlsx")
    n = len(names)
    rows: list[list[str]] = []
    surplus: dict[int, str] = {}
    raw = list(source)
    # Excel keeps dates as datetimes at midnight: a column is a date column unless one of its
    # datetimes has a time of day, and then a sample taken at 00:00:00 keeps its time.
    timed = {
        i
        for row in raw
        for i, v in enumerate(row)
        if isinstance(v, dt.datetime) and (v.hour, v.minute, v.second, v.microsecond) != (0, 0, 0, 0)
    }
    for row in raw:
        cells = [_cell_text(v, i in timed) for i, v in enumerate(row)]
        k = len(cells)
        if k < n:
            cells.extend([""] * (n - k))
        elif k > n:
            text = _extra_text(cells[n:])
            if text:
                surplus[len(rows)] = text
            del cells[n:]
        rows.append(cells)
    if rows:
        columns = [pa.array(c, type=pa.string()) for c in zip(*rows, strict=True)]
    else:
        columns = [pa.array([], type=pa.string()) for _ in range(n)]
    extra = None
    if surplus:
        extra = [""] * len(rows)
        for i, text in surplus.items():
            extra[i] = text
    return _assemble(names, columns, "xlsx", extra)
