"""Times in imports (FORMATS.md, General): ISO 8601, or ``YYYY-MM-DD HH:MM[:SS]``.

A time without an offset is Asia/Shanghai. A date alone is not a time (it is refused), so that a
lab's "2022-03-28" is not silently read as midnight. Values repeat heavily in a screening file
(one second holds many scans), so parsing goes through a per-call cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse_time(value: str) -> dt.datetime | None:
    """One value → an aware datetime in UTC, or None when it is not a time."""
    text = value.strip()
    if len(text) < 16 or text[4] != "-" or text[7] != "-" or text[10] not in " Tt":
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01 00:00 in Shanghai is before year 1 in UTC: not a time
        return None


def parse_times(values: Iterable[str]) -> list[dt.datetime | None]:
    """Parse a column; None where a value is not a time."""
    cache: dict[str, dt.datetime | None] = {}
    out: list[dt.datetime | None] = []
    append = out.append
    for v in values:
        hit = cache.get(v, cache)
        if hit is cache:
            hit = cache[v] = parse_time(v) if v else None
        append(hit)
    return out


def format_time(value: dt.datetime | None) -> str:
    """The report format: ``YYYY-MM-DD HH:MM:SS`` in Asia/Shanghai."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def as_utc(value: dt.datetime | str) -> dt.datetime:
    """A database value as an aware UTC datetime. Naive values (SQLite's) are UTC: Django stores them so."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def naive_utc(value: dt.datetime | str | None) -> dt.datetime | None:
    """The same instant as a naive UTC datetime (what Arrow's ``timestamp("us")`` columns hold)."""
    return None if value is None else as_utc(value).replace(tzinfo=None)
