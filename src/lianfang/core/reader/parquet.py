"""Parquet: the file's columns, each made text by the rules of :mod:`.values`."""

from __future__ import annotations

import os

import pyarrow as pa

from lianfang.core.reader.errors import ImportFileError, _unreadable
from lianfang.core.reader.table import _assemble, _header, _normalise_name, _surplus_from_columns
from lianfang.core.reader.values import _is_string_view, _to_text_column


def _family(t) -> str:
    """The kind of an Arrow type as the import columns declare what they accept."""
    if pa.types.is_dictionary(t):
        return _family(t.value_type)
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or _is_string_view(t):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_date(t) or pa.types.is_timestamp(t) or pa.types.is_time(t):
        return "time"
    if pa.types.is_boolean(t):
        return "bool"
    return "nested" if pa.types.is_nested(t) else str(t)


_ACCEPTED = {
    frozenset({"text"}): ("文本", "text"),
    frozenset({"text", "integer"}): ("文本或整数", "text or whole numbers"),
    frozenset({"text", "integer", "number"}): ("文本或数字", "text or numbers"),
    frozenset({"text", "time"}): ("文本、日期或时间", "text, dates or times"),
}


def _check_types(schema: pa.Schema, columns) -> None:
    """Refuse the columns an import knows whose Parquet type it does not take (a number in a
    name, a list in tags), each named with its type: never cast them into text."""
    wrong = []
    for field in schema:
        rule = columns.get(_normalise_name(field.name))
        family = _family(field.type)
        if rule is not None and family != "null" and family not in rule.types:
            wrong.append((field.name, field.type, _ACCEPTED.get(frozenset(rule.types), ("文本", "text"))))
    if wrong:
        zh = "；".join(f"“{name}”列是 {t} 类型，该列只接受{ok[0]}" for name, t, ok in wrong)
        en = "; ".join(f'column "{name}" is of type {t} but takes only {ok[1]}' for name, t, ok in wrong)
        raise ImportFileError(
            "wrong_type",
            f"Parquet 文件的列类型不对：{zh}。请改成正确的类型后重新导出。",
            f"Columns of the Parquet file have the wrong type: {en}. Export them with the right type.",
        )


def _read_parquet(path, columns=None) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        source = pq.read_table(os.fspath(path))
    except (pa.ArrowException, OSError) as e:
        raise _unreadable(type(e).__name__) from e
    names = _header(source.column_names, "parquet")
    if columns:
        _check_types(source.schema, columns)
    n = len(names)
    columns = [_to_text_column(source.column(i), source.column_names[i]) for i in range(source.num_columns)]
    extra = _surplus_from_columns(columns[n:])
    return _assemble(names, columns[:n], "parquet", extra)
