"""Cell values as text, the same for every format: numbers, times, booleans, nested data."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from lianfang.core.reader.errors import _unreadable


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
