"""Read an uploaded person list (CSV, XLSX or Parquet) into an all-string Arrow table.

This module deliberately imports nothing from Django: the CLI, the web upload,
the benchmarks and the tests all share it.

Contract
========
* CSV is UTF-8, with or without a BOM (Excel's "CSV UTF-8" writes one); the first
  record is the header.  XLSX: the first worksheet, first row is the header.
  Parquet: the file's columns.
* Column order is free.  Unknown columns are *kept* (the importer ignores them, but
  they must survive into the rejects file).
* :func:`read_table` returns a ``pyarrow.Table`` in which every column is
  ``pa.string()``; values are as in the file with surrounding whitespace stripped
  (``pyarrow.compute.utf8_trim_whitespace``, which also strips U+3000 and U+00A0);
  empty cells are ``""``, never null.  Header names are BOM-free, stripped and
  lower-cased.  Rows are in file order.
* Problems with the file as a whole raise :class:`ImportFileError` (``.code``,
  ``.message_zh``, ``.message_en``).  Problems with single rows never raise; they
  are the importer's business (it validates each row and writes rejects).

Decisions about irregular rows (the same in every format)
=========================================================
* **Row index.**  Nothing is skipped except *trailing* rows in which every cell is
  empty after stripping (Excel leaves formatted-but-empty rows and ``,,,,`` lines
  behind).  Empty rows in the middle are kept as rows of ``""``, so table row ``i``
  is spreadsheet row ``i + 2`` (for CSV: record ``i + 2``; a quoted value that
  spans lines is one record, as in Excel).  A blank line inside a CSV is a record
  with no fields and so becomes a row of ``""``.
* **Too few fields** (a CSV record shorter than the header, an XLSX row ending
  early): missing trailing cells are padded with ``""``.
* **Too many fields in CSV** (a record with more cells than the header record; an
  unquoted comma shifted the data): the first cells fill the header columns as
  usual, and the cells past the header record, stripped and CSV-joined without
  trailing empties, go to a last column named :data:`EXTRA_CELLS`, which is
  *null* for every record that fits (``""`` for a longer record whose surplus
  cells are empty: a trailing comma still shifted it).  The column only exists if
  at least one row needed it, and its name cannot clash with a header name
  (normalised names are lower-case).  FORMATS.md makes such a row ``extra_cells``
  before any other check: :func:`extra_cells` gives the mask, the importer stores
  nothing of those rows, and the rejects file shows them with their surplus.
* **Cells under no name** (data past the last *named* header cell: empty header
  cells at the end of the header row, or in XLSX/Parquet any cell past the header):
  an unnamed column, ignored by the importer like any unknown column.  Empty ones
  are dropped; otherwise they are kept, stripped and CSV-joined, in a last column
  named :data:`EXTRA_COLUMN` (``"_extra"``, ``""`` for every other row), so that
  they reach the rejects file.  XLSX and Parquet have no ``extra_cells``: a sheet's
  row cannot be shifted by a comma.
* A column with an empty header name *between* named columns is dropped if all its
  cells are empty (a spacer column; no data is lost) and raises ``empty_header``
  otherwise.  A first row with no names at all (empty file, blank first line)
  raises ``no_header``; two names equal after normalisation raise
  ``duplicate_column``.

CSV reading
===========
The fast path is ``pyarrow.csv`` (multi-threaded; ~0.5 s for 1 M rows x 8
columns) with every column forced to string, ``strings_can_be_null=False``,
``newlines_in_values=True`` and an ``invalid_row_handler``.  pyarrow's handler can
only skip a bad row or abort, never pad it, so the first read aborts on the first
record with the wrong number of fields; the file is then read again on one thread
(which numbers the records), skipping those records and keeping their number and
text.  Only they are parsed with Python's :mod:`csv` module and put back in their
place (padded, or with their surplus in :data:`EXTRA_CELLS`), so a 10 M-row file with
a few shifted rows stays on the fast path.  Any other parse error (except invalid
UTF-8), a record without a number, or more than :data:`_MAX_IRREGULAR` such records
abandon the fast path: the whole file is re-read with the :mod:`csv` module (same
dialect: ``,`` ``"`` doubled quotes), which pads/keeps the surplus as described
above.  Both paths feed the same post-processing, so they give identical tables for
the same file; the fallback is merely slower (~4 s for 1 M rows x 8 columns on a
small machine, vs ~0.2-0.7 s).  A quote that is never closed makes both parsers
swallow the rest of the file into one cell, i.e. silently merge all later rows; so
when the file holds an odd number of ``"`` the fast path hands over to the csv
module, which re-parses the last record strictly and raises ``unclosed_quote``
(with the line where that record starts) if it ends inside quotes.  A cell over
128 KiB (Python's csv field limit; in practice always a runaway quote) raises the
same error.  A file that is not valid UTF-8 raises ``not_utf8`` naming the first bad
line and telling the user to save as "CSV UTF-8" in Excel.

XLSX reading
============
``openpyxl.load_workbook(read_only=True, data_only=True)`` (cached formula values),
first worksheet, dimensions reset so files with a wrong ``<dimension>`` tag are
read completely.  Cell values become text the way a user expects: ``int`` ->
``"123"``; an integral ``float`` -> digits without ``.0`` (``13812345678.0`` ->
``"13812345678"``); other floats in positional notation; a float holding an
18-digit ID has already lost digits, and we print the shortest decimal that
round-trips the stored value (110101199001011234 stored as a float ->
``"110101199001011200"``) rather than inventing binary noise; ``datetime`` ->
``"YYYY-MM-DD HH:MM:SS"`` (rounded to the second), or ``"YYYY-MM-DD"`` when the
time is exactly midnight (Excel date cells come back as midnight datetimes);
``date`` -> ``"YYYY-MM-DD"``; ``time`` -> ``"HH:MM:SS"``; ``bool`` ->
``"TRUE"``/``"FALSE"``; ``None`` -> ``""``.

Parquet reading
===============
``pyarrow.parquet.read_table``; each column is converted to string with the same
rules as XLSX (integers -> digits, dates -> ISO, timestamps -> as datetimes above,
bools -> ``TRUE``/``FALSE``, floats as above, nulls -> ``""``; nested
list/struct/map values become JSON text so unknown columns still reach the rejects
file).

Rejects
=======
:func:`write_rejects` writes UTF-8 *with* BOM (so Excel shows Chinese correctly),
the original columns in original order plus a last column ``reason`` (an existing
``reason`` column, e.g. from re-uploading a rejects file, is replaced rather than
duplicated, so the file can be fixed and uploaded again).  Values are written as
they are; note that cells starting with ``=`` will be treated as formulas if the
file is opened in Excel.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import math
import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import PurePath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = [
    "EXTRA_CELLS",
    "EXTRA_COLUMN",
    "FORMATS",
    "REASON_COLUMN",
    "ImportFileError",
    "detect_format",
    "extra_cells",
    "read_table",
    "to_csv_bytes",
    "write_rejects",
]

FORMATS = ("csv", "xlsx", "parquet")
EXTRA_COLUMN = "_extra"
# Upper case: no header name can be it (names are lower-cased), so it never clashes.
EXTRA_CELLS = "EXTRA_CELLS"
REASON_COLUMN = "reason"

_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_LEGACY_EXCEL_EXTENSIONS = {".xls", ".et", ".ods", ".numbers"}
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, password-protected .xlsx
_BOM = "\ufeff"
_CSV_BLOCK_SIZE = 8 << 20
_BATCH_ROWS = 65536
_MAX_IRREGULAR = 1 << 20  # records of another width the fast path puts back in place
_SAVE_AS_ZH = "请在 Excel 中选择“另存为”，文件类型选“CSV UTF-8（逗号分隔）(*.csv)”后重新上传。"
_SAVE_AS_EN = (
    'In Excel choose "Save As" with file type "CSV UTF-8 (Comma delimited) (*.csv)" and upload again.'
)


class ImportFileError(Exception):
    """The file as a whole cannot be read.

    ``code`` is a stable machine-readable identifier: ``unreadable``,
    ``unknown_format``, ``no_header``, ``not_utf8``, ``empty_header``,
    ``duplicate_column``, ``unclosed_quote``.  ``str()`` gives
    ``"message_zh / message_en"``.
    """

    def __init__(self, code: str, message_zh: str, message_en: str):
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"{message_zh} / {message_en}")

    def __repr__(self) -> str:
        return f"ImportFileError({self.code!r}, {self.message_zh!r}, {self.message_en!r})"


# --------------------------------------------------------------------------- errors


def _unreadable(detail: object = None) -> ImportFileError:
    zh = "无法读取该文件，文件可能已损坏、被加密或不是所声明的格式。"
    en = "The file cannot be read; it may be damaged, password-protected or not in the declared format."
    if detail:
        zh += f"（{detail}）"
        en += f" ({detail})"
    return ImportFileError("unreadable", zh, en)


def _unknown_format(name: str, legacy_excel: bool = False) -> ImportFileError:
    if legacy_excel:
        return ImportFileError(
            "unknown_format",
            f"不支持旧版 Excel（.xls）或加密的文件：{name}。请另存为 .xlsx 或“CSV UTF-8（逗号分隔）”。",
            f"Legacy Excel (.xls) or encrypted files are not supported: {name}. "
            'Save it as .xlsx or "CSV UTF-8 (Comma delimited)".',
        )
    return ImportFileError(
        "unknown_format",
        f"无法识别文件格式：{name}。支持 CSV（UTF-8）、Excel（.xlsx）和 Parquet。",
        f"Unrecognised file format: {name}. Supported are CSV (UTF-8), Excel (.xlsx) and Parquet.",
    )


def _not_utf8(line: int | None) -> ImportFileError:
    where_zh = f"（第 {line} 行首次出现无法识别的字节）" if line else ""
    where_en = f" (first undecodable bytes on line {line})" if line else ""
    return ImportFileError(
        "not_utf8",
        f"文件不是 UTF-8 编码{where_zh}，可能是 Excel 的“CSV（逗号分隔）”格式保存的 GBK 编码。{_SAVE_AS_ZH}",
        f'The file is not UTF-8 encoded{where_en}; Excel\'s plain "CSV (Comma delimited)" '
        f"saves a legacy encoding such as GBK. {_SAVE_AS_EN}",
    )


def _no_header() -> ImportFileError:
    return ImportFileError(
        "no_header",
        "文件为空或第一行没有列名。第一行必须是表头（列名）。",
        "The file is empty or its first row has no column names. The first row must be the header.",
    )


def _column_label(index: int, fmt: str) -> str:
    """1-based position, with the Excel letter for XLSX."""
    if fmt != "xlsx":
        return str(index + 1)
    letters, n = "", index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{index + 1} ({letters})"


# --------------------------------------------------------------------------- detection


def _head(path, size: int = 8) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError as e:
        raise _unreadable(e.strerror or type(e).__name__) from e


def _sniff(head: bytes) -> str | None:
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    return None


def detect_format(path, declared: str | None = None) -> str:
    """Return ``'csv'``, ``'xlsx'`` or ``'parquet'``.

    ``declared`` is either a format name (``"csv"``, ``".xlsx"``…) or the file name
    the user gave (the upload's original name; the temp file on disk may have none).
    Without it the extension of ``path`` is used.  A known extension decides,
    except that positive magic bytes of the other binary format win (a renamed
    ``.xlsx`` saved as ``.csv``).  With no extension the magic bytes decide and
    anything else is CSV.  An unknown extension is accepted only if the magic bytes
    identify the file; otherwise ``ImportFileError('unknown_format')``.
    """
    name = os.fspath(declared) if declared is not None else os.fspath(path)
    plain = name.strip().lower().lstrip(".")
    if plain in FORMATS:
        ext = "." + plain
    else:
        ext = PurePath(name.strip()).suffix.lower()
    head = _head(path)
    magic = _sniff(head)
    fmt = _EXTENSIONS.get(ext)
    if fmt is not None:
        return magic if magic is not None and magic != fmt else fmt
    if magic is not None:
        return magic
    shown = PurePath(name).name or name
    if head.startswith(_OLE2_MAGIC):
        raise _unknown_format(shown, legacy_excel=True)
    if ext in _LEGACY_EXCEL_EXTENSIONS:
        raise _unknown_format(shown, legacy_excel=True)
    if ext == "":
        return "csv"
    raise _unknown_format(shown)


# --------------------------------------------------------------------------- public API


def read_table(path, *, fmt: str | None = None) -> pa.Table:
    """Read ``path`` into an all-string table (see the module docstring)."""
    if fmt is None:
        fmt = detect_format(path)
    fmt = fmt.lower().lstrip(".")
    if fmt == "csv":
        return _read_csv(path)
    if fmt == "xlsx":
        return _read_xlsx(path)
    if fmt == "parquet":
        return _read_parquet(path)
    raise _unknown_format(fmt)


def extra_cells(table: pa.Table) -> pa.ChunkedArray | None:
    """Per row, true when it was a CSV record with more cells than the header (FORMATS.md's
    ``extra_cells``); ``None`` when no row was."""
    if EXTRA_CELLS not in table.column_names:
        return None
    return pc.is_valid(table.column(EXTRA_CELLS))


def to_csv_bytes(table: pa.Table, *, bom: bool = True) -> bytes:
    """Serialise ``table`` as CSV (header always, CRLF, quotes only where needed).

    Every column is written as text, nulls as empty cells.  ``bom=True`` prefixes a
    UTF-8 BOM so Excel opens Chinese text correctly.
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
    table = table.append_column(REASON_COLUMN, _as_text(reasons))
    with pa.OSFile(os.fspath(path), "wb") as sink:
        sink.write(_BOM.encode())
        _write_csv(table, sink)


def _write_csv(table: pa.Table, sink) -> None:
    """Header always; CRLF; quotes only where needed, like Excel's own CSV.

    (Arrow's writer quotes every string value, so the csv module writes the text.)
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table.column_names)
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
    columns = [_as_text(table.column(i), table.column_names[i]) for i in range(table.num_columns)]
    return pa.table(columns, names=table.column_names) if columns else table


# --------------------------------------------------------------------------- header & assembly


def _normalise_name(raw) -> str:
    return str(raw).replace(_BOM, "").strip().lower()


def _header(raw_names: Sequence, fmt: str) -> list[str]:
    """Validate the header row; return the normalised names up to the last named cell.

    Unnamed cells between named ones stay as ``""``; :func:`_assemble` drops such a
    column if it holds no data and raises ``empty_header`` otherwise.
    """
    names = [_normalise_name(n) if n is not None else "" for n in raw_names]
    while names and names[-1] == "":
        names.pop()
    if not names:
        raise _no_header()
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name == "":
            continue
        if name in seen:
            raise ImportFileError(
                "duplicate_column",
                f"列名“{name}”出现了不止一次（第 {_column_label(seen[name], fmt)} 列和第 {_column_label(i, fmt)} 列）。",
                f'Column "{name}" appears more than once '
                f"(columns {_column_label(seen[name], fmt)} and {_column_label(i, fmt)}).",
            )
        seen[name] = i
    return names


def _extra_text(cells: Sequence[str]) -> str:
    """CSV-join stripped surplus cells, without trailing empties; ``""`` if nothing is left."""
    # same whitespace rule as the columns (Arrow's), so both CSV paths agree exactly
    stripped = pc.utf8_trim_whitespace(pa.array(cells, type=pa.string())).to_pylist()
    while stripped and stripped[-1] == "":
        stripped.pop()
    if not stripped:
        return ""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(stripped)
    return buf.getvalue()


def _assemble(
    names: list[str],
    columns: list,
    fmt: str,
    extra: list[str] | None = None,
    longer: pa.Array | None = None,
) -> pa.Table:
    """Trim values, drop empty unnamed columns, attach the unnamed cells (``extra``) and the
    surplus of longer CSV records (``longer``, null where a record fits), drop trailing empty rows."""
    columns = [pc.utf8_trim_whitespace(c) for c in columns]
    if "" in names:
        keep = []
        for i, (name, column) in enumerate(zip(names, columns, strict=True)):
            if name:
                keep.append(i)
            elif pc.max(pc.binary_length(column)).as_py() not in (None, 0):
                label = _column_label(i, fmt)
                raise ImportFileError(
                    "empty_header",
                    f"第 {label} 列有数据但没有列名。请填写列名，或删除这一列。",
                    f"Column {label} has data but no name. Give it a name or delete the column.",
                )
        names = [names[i] for i in keep]
        columns = [columns[i] for i in keep]
    if extra is not None and any(extra):
        if EXTRA_COLUMN in names:
            raise ImportFileError(
                "duplicate_column",
                f"列名“{EXTRA_COLUMN}”为系统保留，用于存放超出表头的单元格，请改名。",
                f'Column name "{EXTRA_COLUMN}" is reserved for cells beyond the header; please rename it.',
            )
        names = [*names, EXTRA_COLUMN]
        columns.append(pa.array(extra, type=pa.string()))
    if longer is not None and longer.null_count < len(longer):
        names = [*names, EXTRA_CELLS]
        columns.append(longer)
    table = _drop_trailing_empty_rows(pa.table(columns, names=names))
    if EXTRA_CELLS in table.column_names and table.column(EXTRA_CELLS).null_count == table.num_rows:
        table = table.drop_columns([EXTRA_CELLS])  # the longer records were trailing empty ones
    return table


def _drop_trailing_empty_rows(table: pa.Table) -> pa.Table:
    n = table.num_rows
    if n == 0 or any(table.column(i)[n - 1].as_py() not in ("", None) for i in range(table.num_columns)):
        return table
    nonempty = None
    for col in table.columns:
        mask = pc.fill_null(pc.greater(pc.binary_length(col), 0), False)
        nonempty = mask if nonempty is None else pc.or_(nonempty, mask)
    idx = pc.indices_nonzero(nonempty)
    last = idx[len(idx) - 1].as_py() if len(idx) else -1
    return table.slice(0, last + 1)


def _sparse_text(length: int, texts: dict[int, str]) -> pa.Array | None:
    """A string array of ``length`` holding ``texts`` at their positions, null elsewhere."""
    if not texts:
        return None
    at = np.full(length, -1, dtype=np.int64)
    at[np.fromiter(texts.keys(), dtype=np.int64, count=len(texts))] = np.arange(len(texts))
    values = pa.array(list(texts.values()), type=pa.string())
    return values.take(pa.array(at, mask=at < 0))


def _surplus_from_columns(columns: list) -> list[str] | None:
    """Extra text per row from the columns beyond the header (``None`` if all empty)."""
    if not columns:
        return None
    trimmed = [pc.utf8_trim_whitespace(c) for c in columns]
    if all(pc.max(pc.binary_length(c)).as_py() in (None, 0) for c in trimmed):
        return None
    pylists = [c.to_pylist() for c in trimmed]
    return [_extra_text(cells) for cells in zip(*pylists, strict=True)]


# --------------------------------------------------------------------------- CSV


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


def _unclosed_quote(line: int) -> ImportFileError:
    return ImportFileError(
        "unclosed_quote",
        f'第 {line} 行开始的引号（"）没有闭合，文件其余部分无法正确拆分成行。',
        f'A quote (") opened in the record starting on line {line} is never closed, '
        "so the rest of the file cannot be split into rows.",
    )


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


# --------------------------------------------------------------------------- XLSX


def _float_text(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    d = Decimal(repr(v))
    if d == d.to_integral_value():
        return str(int(d))
    return format(d, "f")


def _datetime_text(v: dt.datetime, keep_time: bool = False) -> str:
    if v.microsecond >= 500_000:
        v = v + dt.timedelta(microseconds=1_000_000 - v.microsecond)
    v = v.replace(microsecond=0)
    if v.hour == v.minute == v.second == 0 and not keep_time:
        return v.strftime("%Y-%m-%d")
    return v.strftime("%Y-%m-%d %H:%M:%S")


def _cell_text(v, keep_time: bool = False) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float_text(v)
    if isinstance(v, dt.datetime):
        return _datetime_text(v, keep_time)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.replace(microsecond=0).isoformat()
    return str(v)


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


# --------------------------------------------------------------------------- Parquet


def _is_string_view(t) -> bool:
    check = getattr(pa.types, "is_string_view", None)  # pyarrow >= 16
    return bool(check and check(t))


def _to_text_column(col, name: str):
    """Convert an Arrow column of any flat type to strings following the XLSX rules."""
    t = col.type
    if isinstance(col, pa.ChunkedArray):
        chunks = [_to_text_column(c, name) for c in col.chunks]
        return pa.chunked_array(chunks, type=pa.string())
    if pa.types.is_dictionary(t):
        return _to_text_column(col.dictionary_decode(), name)
    if pa.types.is_string(t):
        out = col
    elif pa.types.is_large_string(t) or _is_string_view(t):
        out = pc.cast(col, pa.string())
    elif pa.types.is_null(t):
        out = pa.array([""] * len(col), type=pa.string())
    elif pa.types.is_boolean(t):
        out = pc.if_else(col, "TRUE", "FALSE")
    elif pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_date(t):
        out = pc.cast(col, pa.string())
    elif pa.types.is_floating(t):
        out = pa.array([None if v is None else _float_text(v) for v in col.to_pylist()], type=pa.string())
    elif pa.types.is_timestamp(t):
        rounded = pc.round_temporal(col, unit="second")
        secs = pc.cast(rounded, pa.timestamp("s", t.tz))
        midnight = pc.equal(pc.floor_temporal(rounded, unit="day"), rounded)
        out = pc.if_else(
            midnight,
            pc.strftime(secs, "%Y-%m-%d"),
            pc.strftime(secs, "%Y-%m-%d %H:%M:%S"),
        )
    elif pa.types.is_time(t):
        out = pa.array([None if v is None else _cell_text(v) for v in col.to_pylist()], type=pa.string())
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        try:
            out = pc.cast(col, pa.string())
        except pa.ArrowInvalid as e:
            raise _unreadable(f"column {name!r}: binary data that is not UTF-8 text") from e
    elif pa.types.is_nested(t):  # list/struct/map: keep the data as JSON text
        out = pa.array(
            [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in col.to_pylist()],
            type=pa.string(),
        )
    else:  # durations, intervals, ...
        out = pa.array([None if v is None else str(v) for v in col.to_pylist()], type=pa.string())
    return pc.fill_null(out, "") if out.null_count else out


def _read_parquet(path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        source = pq.read_table(os.fspath(path))
    except (pa.ArrowException, OSError) as e:
        raise _unreadable(type(e).__name__) from e
    names = _header(source.column_names, "parquet")
    n = len(names)
    columns = [_to_text_column(source.column(i), source.column_names[i]) for i in range(source.num_columns)]
    extra = _surplus_from_columns(columns[n:])
    return _assemble(names, columns[:n], "parquet", extra)
