"""Which given times are plausible: samples, results, scans and hand-overs.

A time a device, a lab or a person gives may not lie ahead of the server's clock by more than
:data:`CLOCK_SKEW`, nor, when it arrives live (a device, a form), before its round started (by
more than the same skew: a desk whose clock lags a minute scans at the round's first minute, and
device times are whole seconds). The skew is an operational tolerance — the
drift of a sampling desk's or a lab system's clock, a form filled in within the minute — not an
epidemiological rule, so it is not a value of the protocol edition (which only says what the
rules of screening are); it is defined here, once, for every path (API, files, forms).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from lianfang.screening.services.errors import ScreeningError

# How far ahead of the server's clock a given time may run (default 5 minutes).
CLOCK_SKEW = dt.timedelta(minutes=5)


def latest_plausible(now: dt.datetime | None = None) -> dt.datetime:
    """The latest time a record may carry now: the server's clock plus :data:`CLOCK_SKEW`."""
    return (now or timezone.now()) + CLOCK_SKEW


# No earlier bound: a file may carry a round's records from before the round was opened here.
NO_EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def earliest_plausible(round_start: dt.datetime, *, live: bool = True) -> dt.datetime:
    """The earliest time a record of a round may carry: its start less :data:`CLOCK_SKEW` when the
    record arrives live (a device, a form), where the round was opened on the same clock before
    any sampling. A file (``samples.csv``, ``results.csv``: the CLI, an upload) is not held to it:
    it may bring a round's records that were taken before the round was opened in Lianfang (a
    round migrated from another system, data re-loaded after an outage), and FORMATS.md gives its
    rows no such reason. Its times are still refused in the future."""
    return round_start - CLOCK_SKEW if live else NO_EARLIEST


def plausible_time(
    value: dt.datetime, *, round_start: dt.datetime | None, now: dt.datetime, zh: str, en: str
) -> dt.datetime:
    """``value`` (a naive value is read in the server's time zone), refused with ``future_time``
    beyond the skew or ``before_round`` before ``round_start``; ``zh`` / ``en`` name the time."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    if value > latest_plausible(now):
        raise ScreeningError("future_time", f"{zh}不能晚于当前时间", f"the {en} is in the future")
    if round_start is not None and value < earliest_plausible(round_start):
        raise ScreeningError("before_round", f"{zh}早于轮次开始时间", f"the {en} is before the round started")
    return value
