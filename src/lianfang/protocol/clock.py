"""Local time: every date in the rules is an Asia/Shanghai date (FORMATS.md "General")."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def aware(value: object, name: str) -> dt.datetime:
    """``value`` as an Asia/Shanghai datetime; a bilingual error for anything but an aware datetime."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} 必须是日期时间 / {name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{name} 必须带时区 / {name} must be timezone-aware: {value.isoformat()}")
    return value.astimezone(SHANGHAI)


def local_date(value: dt.datetime) -> dt.date:
    """The Asia/Shanghai date of an aware datetime."""
    return value.astimezone(SHANGHAI).date()
