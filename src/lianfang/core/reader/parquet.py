"""Parquet: the file's columns, each made text by the rules of :mod:`.values`."""

from __future__ import annotations

import os

import pyarrow as pa

from lianfang.core.reader.errors import _unreadable
from lianfang.core.reader.table import _assemble, _header, _surplus_from_columns
from lianfang.core.reader.values import _to_text_column


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
