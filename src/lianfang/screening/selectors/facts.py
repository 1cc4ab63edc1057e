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


def open_rounds() -> list:
    """Open rounds (server authority), for the rules the command layer raises problems from."""
    from lianfang.screening.models import Round, RoundStatus

    return list(Round.objects.dangerously_all().filter(status=RoundStatus.OPEN).order_by("code"))


def tubes_pending_by_site(*, before: dt.datetime) -> list[dict]:
    """Per round and site: screening tubes still without a result whose first sample is older
    than ``before`` — count, oldest sample, the site's community (one GROUP BY)."""
    from django.db.models import Min

    from lianfang.screening.models import Tube, TubeState

    rows = (
        Tube.objects.dangerously_all()
        .filter(state=TubeState.PENDING, first_collected_at__lt=before, site__isnull=False)
        .values("round__code", "site__code", "site__community_id")
        .annotate(n=Count("id"), oldest=Min("first_collected_at"))
        .order_by("round__code", "site__code")
    )
    return [
        {
            "round": r["round__code"],
            "site": r["site__code"],
            "community": r["site__community_id"],
            "tubes": r["n"],
            "oldest": r["oldest"],
        }
        for r in rows
    ]


def alerts_unacknowledged(*, before: dt.datetime) -> list[dict]:
    """Abnormal-pool alerts raised before ``before`` that nobody has acknowledged."""
    from lianfang.screening.models import PoolAlert

    rows = (
        PoolAlert.objects.filter(acknowledged_at__isnull=True, raised_at__lt=before)
        .values("pk", "round__code", "tube__barcode", "tube__site__community_id", "raised_at")
        .order_by("pk")
    )
    return [
        {
            "pk": r["pk"],
            "round": r["round__code"],
            "tube": r["tube__barcode"],
            "community": r["tube__site__community_id"] or "",
            "raised_at": r["raised_at"],
        }
        for r in rows
    ]


def rechecks_overdue_by_community(*, now: dt.datetime) -> list[dict]:
    """Per round and community: re-check / re-sample tasks past their clock at ``now``."""
    from lianfang.screening.models import RecheckTask
    from lianfang.screening.selectors.pools import _overdue_q

    rows = (
        RecheckTask.objects.dangerously_all()
        .filter(_overdue_q(now))
        .values("round__code", "community_id")
        .annotate(n=Count("id"))
        .order_by("round__code", "community_id")
    )
    return [{"round": r["round__code"], "community": r["community_id"], "tasks": r["n"]} for r in rows]
