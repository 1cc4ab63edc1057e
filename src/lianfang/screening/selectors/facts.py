"""Screening's figures for the command layer's daily briefing (server authority: no actor)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count
from django.db.models.functions import TruncDate

from lianfang.core.times import SHANGHAI
from lianfang.screening.models import Sample


def samples_by_day_and_county(*, start: dt.datetime, end: dt.datetime) -> dict[tuple[dt.date, str], int]:
    """Person-samples collected in ``[start, end)``, every round and every purpose, counted by the
    Asia/Shanghai date of collection and the county of the site where they were taken ("" when the
    tube has no site) — one GROUP BY query."""
    rows = (
        Sample.objects.filter(collected_at__gte=start, collected_at__lt=end)
        .annotate(day=TruncDate("collected_at", tzinfo=SHANGHAI))
        .values("day", "tube__site__county_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(row["day"], row["tube__site__county_code"] or ""): row["n"] for row in rows}
