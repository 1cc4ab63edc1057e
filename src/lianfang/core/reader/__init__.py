"""Read an uploaded person list (CSV, XLSX or Parquet) into an all-string Arrow table.

This package deliberately imports nothing from Django: the CLI, the web upload,
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

Limits
======
A file past a cap of :mod:`.limits` is refused as a whole: a cell over
:data:`~.limits.MAX_CELL_CHARS` characters (``cell_too_long``), a header or XLSX row over
:data:`~.limits.MAX_COLUMNS` columns (``too_many_columns``), a table over
:data:`~.limits.MAX_CELLS` cells (``too_many_cells``), an XLSX row with data after more than
:data:`~.limits.MAX_EMPTY_ROWS` empty rows (``stray_cells``), an XLSX whose parts unpack to over
:data:`~.limits.MAX_XLSX_UNPACKED` bytes (``xlsx_too_big``, from the zip's directory, before
anything is unpacked).

Parquet reading
===============
``pyarrow.parquet.read_table``; each column is converted to string with the same
rules as XLSX (integers -> digits, dates -> ISO, timestamps -> as datetimes above,
bools -> ``TRUE``/``FALSE``, floats as above, nulls -> ``""``; nested
list/struct/map values become JSON text so unknown columns still reach the rejects
file).  With ``columns`` (the import's own columns), a known column of a type it does not take
is refused (``wrong_type``, every such column named) instead of being cast to text.

Rejects
=======
:func:`write_rejects` writes UTF-8 *with* BOM (so Excel shows Chinese correctly),
the original columns in original order plus a last column ``reason`` (an existing
``reason`` column, e.g. from re-uploading a rejects file, is replaced rather than
duplicated, so the file can be fixed and uploaded again).  Text starting with
``= + - @``, a tab or a CR is written with a leading ``'`` (:func:`inert`, OWASP "CSV
injection"), so Excel shows it instead of running it; the reader drops a ``'`` in
front of those characters again, so the rejects file uploads as it was.

The package, along its seams
============================
* :mod:`.errors` — :class:`ImportFileError` and the messages of a file that cannot be read;
* :mod:`.detect` — the format from the declared name and the magic bytes;
* :mod:`.table` — the header and the assembly every format shares (trimming, cells past the
  header, :data:`EXTRA_CELLS`, trailing empty rows);
* :mod:`.values` — cells and Arrow columns of any type as text (numbers, times, booleans);
* :mod:`.csv`, :mod:`.xlsx`, :mod:`.parquet` — one reader per format;
* :mod:`.rejects` — :func:`write_rejects`, :func:`to_csv_bytes` and :func:`inert`;
* :mod:`.limits` — the caps on one file and their refusals.

The limits of the CSV fast path (``_MAX_IRREGULAR``, the block size) are not re-exported here:
a test shrinks them in the module that reads them (:mod:`.csv`).
"""

from __future__ import annotations

import pyarrow as pa

from lianfang.core.reader.csv import _read_csv
from lianfang.core.reader.detect import FORMATS, detect_format
from lianfang.core.reader.errors import ImportFileError, _unknown_format
from lianfang.core.reader.parquet import _read_parquet
from lianfang.core.reader.rejects import REASON_COLUMN, inert, to_csv_bytes, write_rejects
from lianfang.core.reader.table import EXTRA_CELLS, EXTRA_COLUMN, _normalise_name, column_texts, extra_cells
from lianfang.core.reader.xlsx import _read_xlsx

__all__ = [
    "column_texts",
    "EXTRA_CELLS",
    "EXTRA_COLUMN",
    "FORMATS",
    "REASON_COLUMN",
    "ImportFileError",
    "detect_format",
    "extra_cells",
    "inert",
    "read_table",
    "to_csv_bytes",
    "write_rejects",
]


def read_table(path, *, fmt: str | None = None, columns=None) -> pa.Table:
    """Read ``path`` into an all-string table (see the package docstring).

    ``columns``: the import's columns (name -> a rule with ``.types``, the kinds of Parquet
    column it takes: ``text``, ``integer``, ``number``, ``time``; lianfang.core.fields); a Parquet
    column of another type is refused (``wrong_type``) instead of being cast to text.
    A column whose header is a column's Chinese ``label`` (``证件号码`` for ``id_number``) is
    read as that column (:func:`_labelled_as_codes`).
    """
    if fmt is None:
        fmt = detect_format(path)
    fmt = fmt.lower().lstrip(".")
    aliases = _aliases(columns)
    if fmt == "csv":
        table = _read_csv(path)
    elif fmt == "xlsx":
        table = _read_xlsx(path)
    elif fmt == "parquet":
        known = columns
        if columns and aliases:  # a Parquet column named by its label meets the code's type rule
            known = {**columns, **{label: columns[code] for label, code in aliases.items()}}
        table = _read_parquet(path, known)
    else:
        raise _unknown_format(fmt)
    return _labelled_as_codes(table, aliases)


def _aliases(columns) -> dict[str, str]:
    """``{label: code}`` from the import's columns: those with a ``label`` (lianfang.core.fields)."""
    found = {}
    for code, rule in (columns or {}).items():
        label = _normalise_name(getattr(rule, "label", "") or "")
        if label and label != code:
            found[label] = code
    return found


def _labelled_as_codes(table: pa.Table, aliases: dict[str, str]) -> pa.Table:
    """Rename the columns headed by a Chinese label to their code; a file with both the label and
    the code of one column is refused (which of the two would count is not for us to guess)."""
    if not aliases or not any(name in aliases for name in table.column_names):
        return table
    names = list(table.column_names)
    for i, name in enumerate(names):
        code = aliases.get(name)
        if code is None:
            continue
        if code in names:
            raise ImportFileError(
                "duplicate_column",
                f"“{name}”和“{code}”是同一列（{name} 是 {code} 的中文列名），请只保留其中一列。",
                f'"{name}" and "{code}" are the same column ({name} is the Chinese name of {code}); keep one of them.',
            )
        names[i] = code
    return table.rename_columns(names)
