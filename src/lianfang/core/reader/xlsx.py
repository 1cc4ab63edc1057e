"""XLSX: the first worksheet of a workbook, read with openpyxl (imported on first use)."""

from __future__ import annotations

import datetime as dt
import zipfile

import pyarrow as pa

from lianfang.core.reader import limits
from lianfang.core.reader.errors import ImportFileError, _column_label, _no_header, _unreadable
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
        _check_unpacked_size(f)
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


def _check_unpacked_size(f) -> None:
    """Refuse a workbook whose parts unpack to more than :data:`limits.MAX_XLSX_UNPACKED`.

    The sizes come from the zip's central directory, before anything is unpacked; a part cannot
    unpack to more than its declared size (:mod:`zipfile` stops there and fails the CRC check)."""
    try:
        with zipfile.ZipFile(f) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise _unreadable(type(e).__name__) from e
    finally:
        f.seek(0)
    if size > limits.MAX_XLSX_UNPACKED:
        raise limits._xlsx_too_big(size)


def _cell_name(column: int, row: int) -> str:
    """``K1048576`` for the 0-based ``column`` and the 1-based ``row``."""
    return _column_label(column, "xlsx").split()[-1].strip("()") + str(row)


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
    raw = []
    cells = n
    empty = 0  # consecutive empty rows so far
    for row in source:
        if len(row) > limits.MAX_COLUMNS:
            raise limits._too_many_columns(len(row), _cell_name(len(row) - 1, len(raw) + 2))
        cells += max(n, len(row))
        if cells > limits.MAX_CELLS:
            raise limits._too_many_cells(cells)
        first = next((i for i, v in enumerate(row) if v is not None and v != ""), None)
        if first is None:
            empty += 1
        elif empty > limits.MAX_EMPTY_ROWS:
            raise limits._stray_cell(_cell_name(first, len(raw) + 2), empty)
        else:
            empty = 0
        raw.append(row)
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
