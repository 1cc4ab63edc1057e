"""CSV: the ``pyarrow.csv`` fast path, records of another width put back in place, and the
:mod:`csv`-module fallback (see the package docstring)."""

from __future__ import annotations

import csv
import io
import itertools
import os

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from lianfang.core.reader.errors import _not_utf8, _unclosed_quote, _unreadable
from lianfang.core.reader.table import (
    _BATCH_ROWS,
    _assemble,
    _extra_text,
    _header,
    _sparse_text,
    _surplus_from_columns,
)

_CSV_BLOCK_SIZE = 8 << 20
_MAX_IRREGULAR = 1 << 20  # records of another width the fast path puts back in place


def _first_bad_utf8_line(path) -> int | None:
    """1-based line of the first invalid UTF-8 byte ('\\n' never occurs inside a UTF-8 sequence)."""
    try:
        with open(path, "rb") as f:
            for number, line in enumerate(f, 1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return number
    except OSError:
        return None
    return None


def _csv_header(path) -> list[str]:
    record_start = 1
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            record_start = reader.line_num + 1
            only_record = next(reader, None) is None
    except UnicodeDecodeError as e:
        raise _not_utf8(_first_bad_utf8_line(path)) from e
    except csv.Error as e:
        if "field larger than field limit" in str(e):
            raise _unclosed_quote(record_start) from e
        raise _unreadable(e) from e
    except OSError as e:
        raise _unreadable(e.strerror or type(e).__name__) from e
    if header and only_record and _last_record_has_open_quote(path, 1):
        raise _unclosed_quote(1)
    return header


def _odd_quote_count(path) -> bool:
    """Cheap screen for a quote left open at EOF (both parsers then swallow the rest of the file)."""
    count = 0
    with open(path, "rb") as f:
        while chunk := f.read(16 << 20):
            count += chunk.count(b'"')
    return count % 2 == 1


class _FallBack(Exception):
    """The fast path cannot produce the table; re-read with the csv module."""


def _read_csv(path) -> pa.Table:
    raw_header = _csv_header(path)
    names = _header(raw_header, "csv")
    try:
        return _read_csv_arrow(path, names, len(raw_header))
    except _FallBack:
        return _read_csv_python(path, names, len(raw_header))


def _arrow_csv(path, width: int, on_invalid_row, *, threads: bool) -> pa.Table:
    """The file as ``width`` string columns, the header as row 0 (``pyarrow.csv``)."""
    read_options = pacsv.ReadOptions(
        autogenerate_column_names=True,  # the header row becomes data row 0 (string-typed)
        block_size=_CSV_BLOCK_SIZE,
        use_threads=threads,
    )
    parse_options = pacsv.ParseOptions(
        delimiter=",",
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=True,
        ignore_empty_lines=False,
        invalid_row_handler=on_invalid_row,
    )
    convert_options = pacsv.ConvertOptions(
        column_types={f"f{i}": pa.string() for i in range(width)},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
        check_utf8=True,
    )
    with pa.memory_map(os.fspath(path), "r") as source:
        return pacsv.read_csv(
            source, read_options=read_options, parse_options=parse_options, convert_options=convert_options
        )


def _read_csv_arrow(path, names: list[str], width: int) -> pa.Table:
    aborted = []

    def abort(row) -> str:
        aborted.append(row)
        return "error"

    irregular: dict[int, str] = {}  # record number (the header is 1) -> its text

    def keep(row) -> str:
        if row.number is None or len(irregular) >= _MAX_IRREGULAR:
            return "error"
        irregular[row.number] = row.text
        return "skip"

    try:
        table = _arrow_csv(path, width, abort, threads=True)
    except pa.ArrowException as e:
        if not aborted:
            if isinstance(e, pa.ArrowInvalid) and "UTF8" in str(e):
                raise _not_utf8(_first_bad_utf8_line(path)) from e
            raise _FallBack from e
        # A record of another width: read again on one thread, which numbers the records.
        try:
            table = _arrow_csv(path, width, keep, threads=False)
        except pa.ArrowException as e2:
            raise _FallBack from e2
    if table.num_columns != width or not all(pa.types.is_string(t) for t in table.schema.types):
        raise _FallBack
    if _odd_quote_count(path):
        raise _FallBack  # maybe a quote open at EOF; the csv-module path checks precisely
    columns = table.slice(1).columns  # drop the header row
    longer = None
    if irregular:
        columns, longer = _put_back(columns, irregular, width)
    n = len(names)
    extra = _surplus_from_columns(columns[n:])
    return _assemble(names, columns[:n], "csv", extra, longer)


def _put_back(columns: list, irregular: dict[int, str], width: int) -> tuple[list, pa.Array | None]:
    """Insert the records pyarrow skipped (number -> text) at their place among ``columns``:
    padded to ``width`` cells, the cells past it as the records' surplus (null for the others)."""
    rows = len(columns[0]) + len(irregular) if columns else 0
    at = np.fromiter(irregular.keys(), dtype=np.int64, count=len(irregular)) - 2
    if not len(at) or at[0] < 0 or at[-1] >= rows or np.any(np.diff(at) <= 0):
        raise _FallBack
    cells: list[list[str]] = []
    surplus: dict[int, str] = {}
    for i, text in zip(at.tolist(), irregular.values(), strict=True):
        records = list(csv.reader(io.StringIO(text, newline="")))
        if len(records) > 1:
            raise _FallBack
        row = records[0] if records else []
        if len(row) > width:
            surplus[i] = _extra_text(row[width:])
            row = row[:width]
        cells.append(row + [""] * (width - len(row)))
    placed = np.zeros(rows, dtype=bool)
    placed[at] = True
    take = np.empty(rows, dtype=np.int64)
    take[~placed] = np.arange(rows - len(at))
    take[placed] = np.arange(rows - len(at), rows)
    take = pa.array(take)
    merged = []
    for column, values in zip(columns, zip(*cells, strict=True), strict=True):
        added = pa.array(values, type=pa.string())
        merged.append(pa.chunked_array([*column.chunks, added], type=pa.string()).take(take))
    return merged, _sparse_text(rows, surplus)


def _read_csv_python(path, names: list[str], width: int) -> pa.Table:
    n = len(names)
    padding = [""] * width
    rows: list[list[str]] = []  # current batch; converted to Arrow every _BATCH_ROWS rows
    append = rows.append
    chunks: list[list[pa.Array]] = [[] for _ in range(width)]
    done = 0  # rows already converted
    surplus: dict[int, str] = {}  # past the header record (extra_cells)

    def flush() -> None:
        nonlocal done
        for chunk_list, values in zip(chunks, zip(*rows, strict=True), strict=True):
            chunk_list.append(pa.array(values, type=pa.string()))
        done += len(rows)
        rows.clear()

    record_start = 1  # physical line on which the record being parsed starts
    last_start = 1
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            next(reader, None)  # header, already validated
            record_start = reader.line_num + 1
            for row in reader:
                last_start, record_start = record_start, reader.line_num + 1
                k = len(row)
                if k == width:
                    append(row)
                elif k < width:
                    append(row + padding[k:])
                else:
                    append(row[:width])
                    surplus[done + len(rows) - 1] = _extra_text(row[width:])
                if len(rows) == _BATCH_ROWS:
                    flush()
            if rows:
                flush()
    except UnicodeDecodeError as e:
        raise _not_utf8(_first_bad_utf8_line(path)) from e
    except csv.Error as e:
        if "field larger than field limit" in str(e):  # > 128 KiB in one cell
            raise _unclosed_quote(record_start) from e
        raise _unreadable(f"line {record_start}: {e}") from e
    except OSError as e:
        raise _unreadable(e.strerror or type(e).__name__) from e
    if done and _last_record_has_open_quote(path, last_start):
        raise _unclosed_quote(last_start)
    columns = [pa.chunked_array(c, type=pa.string()) for c in chunks]
    extra = _surplus_from_columns(columns[n:])
    return _assemble(names, columns[:n], "csv", extra, _sparse_text(done, surplus))


def _last_record_has_open_quote(path, start_line: int) -> bool:
    """Does the last record (from physical line ``start_line`` to EOF) end inside quotes?

    Python's csv module (non-strict) silently closes a quoted field at EOF, turning
    the rest of the file into one cell; a strict re-parse of the last record tells
    that apart from a normal last record.
    """
    with open(path, encoding="utf-8-sig", newline="") as f:
        tail = "".join(itertools.islice(f, start_line - 1, None))
    try:
        for _ in csv.reader(io.StringIO(tail, newline=""), strict=True):
            pass
    except csv.Error as e:
        return "unexpected end of data" in str(e)
    return False
