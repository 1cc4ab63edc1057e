"""The header and the assembly of the all-string table, the same for every format: names
validated and normalised, values trimmed, cells past the header kept, trailing empty rows dropped."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lianfang.core.reader import limits
from lianfang.core.reader.errors import ImportFileError, _column_label, _no_header

EXTRA_COLUMN = "_extra"
# Upper case: no header name can be it (names are lower-cased), so it never clashes.
EXTRA_CELLS = "EXTRA_CELLS"
_BOM = "\ufeff"
_BATCH_ROWS = 65536


def column_texts(table: pa.Table, name: str) -> list[str]:
    """A column of a read table as trimmed text per row, ``""`` for a null cell or a column the
    file does not have (an optional one)."""
    if name not in table.column_names:
        return [""] * table.num_rows
    return [str(v).strip() if v is not None else "" for v in table.column(name).to_pylist()]


def extra_cells(table: pa.Table) -> pa.ChunkedArray | None:
    """Per row, true when it was a CSV record with more cells than the header (FORMATS.md's
    ``extra_cells``); ``None`` when no row was."""
    if EXTRA_CELLS not in table.column_names:
        return None
    return pc.is_valid(table.column(EXTRA_CELLS))


def _normalise_name(raw) -> str:
    name = str(raw).replace(_BOM, "").strip().lower()
    # the apostrophe an export puts before a formula-like name (rejects.inert)
    return name[1:] if name[:1] == "'" and name[1:2] in ("=", "+", "-", "@") else name


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
    if len(names) > limits.MAX_COLUMNS:
        raise limits._too_many_columns(len(names))
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
    _check_size(names, columns, fmt, extra)
    columns = [_drop_inert_mark(pc.utf8_trim_whitespace(c)) for c in columns]
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


def _check_size(names: list[str], columns: list, fmt: str, extra: list[str] | None) -> None:
    """Refuse a table past :data:`limits.MAX_CELLS` cells or with a cell past
    :data:`limits.MAX_CELL_CHARS` characters, before anything makes Python objects of its cells."""
    rows = len(columns[0]) if columns else 0
    if rows * max(len(columns), 1) > limits.MAX_CELLS:
        raise limits._too_many_cells(rows * len(columns))
    labelled = list(zip(names, columns, strict=True))
    if extra is not None:
        labelled.append((EXTRA_COLUMN, pa.array(extra, type=pa.string())))
    for i, (name, column) in enumerate(labelled):
        if not len(column) or (pc.max(pc.binary_length(column)).as_py() or 0) <= limits.MAX_CELL_CHARS:
            continue  # no more bytes than the limit's characters: the cheap screen
        lengths = pc.utf8_length(column)
        at = pc.index(pc.greater(lengths, limits.MAX_CELL_CHARS), True).as_py()
        if at >= 0:
            raise limits._cell_too_long(name or _column_label(i, fmt), at + 2, lengths[at].as_py())


def _drop_inert_mark(column):
    """``'=x`` -> ``=x``: the apostrophe our exports put before a formula-like text (rejects.inert)."""
    if not pc.any(pc.starts_with(column, "'")).as_py():
        return column
    return pc.replace_substring_regex(column, pattern=r"^'([=+\-@\t\r])", replacement=r"\1")


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
