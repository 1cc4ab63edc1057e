"""Vectorised building blocks of the simulators: whole columns at a time, no Python loop per row.

NumPy draws and roundings, and Arrow string columns built straight from NumPy (digit strings,
resident IDs, joins, look-ups, times). Nothing here imports Django.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lianfang.people.idnumbers import CHECK_CHARS, WEIGHTS

TIME_FMT = "%Y-%m-%d %H:%M:%S"


# --------------------------------------------------------------------------------------------------
# Draws and roundings


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split into whole parts in proportion to ``weights`` (parts sum to ``total`` exactly)."""
    w = np.asarray(weights, dtype=np.float64)
    if total == 0 or w.sum() == 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    short = total - int(base.sum())
    if short:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:short]] += 1
    return base


def draw(rng: np.random.Generator, p: np.ndarray, size: int) -> np.ndarray:
    """Categorical draw by inverse CDF (much faster than ``rng.choice(p=...)`` for big sizes)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(p) - 1)


def unique_redraw(key: np.ndarray, redraw, max_rounds: int = 100) -> np.ndarray:
    """Re-draw ``key`` at every row that repeats an earlier row's key until all keys are distinct.

    ``redraw(rows)`` returns new keys for those rows. Modifies and returns ``key``.
    """
    for _ in range(max_rounds):
        order = np.argsort(key, kind="stable")
        sk = key[order]
        dup = order[1:][sk[1:] == sk[:-1]]
        if len(dup) == 0:
            return key
        key[dup] = redraw(dup)
    raise RuntimeError("could not make keys unique; the key space is too small for this population")


def ymd(dates: np.ndarray) -> np.ndarray:
    """datetime64[D] dates → yyyymmdd integers (the birth-date digits of a resident ID)."""
    month_start = dates.astype("datetime64[M]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (dates - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    return year * 10000 + month * 100 + day


# --------------------------------------------------------------------------------------------------
# Arrow string columns


def fixed_width(mat: np.ndarray) -> pa.Array:
    """An n × width matrix of ASCII bytes → a string column of n values of ``width`` characters."""
    n, width = mat.shape
    if n * width < 2**31 - 1:
        typ, off_dtype = pa.string(), np.int32
    else:
        typ, off_dtype = pa.large_string(), np.int64
    offsets = np.arange(0, (n + 1) * width, width, dtype=off_dtype)
    data = np.ascontiguousarray(mat).reshape(-1)
    return pa.Array.from_buffers(typ, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _digit_matrix(numbers: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers → n × ``width`` ASCII digits, zero-padded on the left."""
    mat = np.empty((len(numbers), width), dtype=np.uint8)
    k = numbers.astype(np.int64, copy=True)
    for i in range(width - 1, -1, -1):
        mat[:, i] = 48 + k % 10
        k //= 10
    return mat


def digits_to_strings(numbers: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers → zero-padded fixed-width ASCII strings, built straight into Arrow buffers."""
    return fixed_width(_digit_matrix(numbers, width))


def resident_ids(keys: np.ndarray) -> pa.Array:
    """17-digit keys (region + yyyymmdd + sequence) → 18-character resident IDs with their
    GB 11643-1999 check digit (the weights and characters of :mod:`lianfang.people.idnumbers`)."""
    mat = np.empty((len(keys), 18), dtype=np.uint8)
    mat[:, :17] = _digit_matrix(keys, 17)
    total = np.zeros(len(keys), dtype=np.int64)
    for i, weight in enumerate(WEIGHTS):
        total += (mat[:, i].astype(np.int64) - 48) * weight
    mat[:, 17] = CHECK_CHARS[total % 11]
    return fixed_width(mat)


def int_str(values: np.ndarray, width: int = 0) -> pa.Array:
    """Integers → decimal strings, left-padded with zeros to ``width`` when given."""
    out = pc.cast(pa.array(values), pa.string())
    return pc.utf8_lpad(out, width=width, padding="0") if width else out


def take(values, indices: np.ndarray) -> pa.Array:
    """``values[indices]`` as a string column (``values``: any sequence of strings)."""
    return pc.take(pa.array(values, type=pa.string()), pa.array(indices))


def join(*parts) -> pa.Array:
    """Element-wise concatenation of string columns and scalars."""
    return pc.binary_join_element_wise(*parts, "")


def times(local_seconds: np.ndarray) -> pa.Array:
    """Naive Shanghai wall-clock seconds since the epoch → 'YYYY-MM-DD HH:MM:SS'."""
    return pc.strftime(pa.array(local_seconds.astype("datetime64[s]")), format=TIME_FMT)


def replace_at(column: pa.Array, at: np.ndarray, values: pa.Array) -> pa.Array:
    """``column`` with the rows ``at`` (ascending) replaced by ``values``, in order."""
    if len(at) == 0:
        return column
    mask = np.zeros(len(column), dtype=bool)
    mask[at] = True
    return pc.replace_with_mask(column, pa.array(mask), values.cast(column.type))
