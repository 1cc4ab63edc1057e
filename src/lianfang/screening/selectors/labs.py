"""Labs and sites: the reference lists, lab turnaround and site throughput of a round."""

from __future__ import annotations

import math

from django.db.models import QuerySet

from lianfang.accounts.scoping import Actor
from lianfang.screening.models import (
    Lab,
    Result,
    Round,
    Sample,
    Site,
    Tube,
)
from lianfang.screening.selectors.common import (
    SCREENING,
    _floor_int,
    _hour,
    _minutes,
    _ratio,
    _rows,
    _site_where,
    _t,
)

TURNAROUND_BUCKET_MINUTES = 5


def _percentile(histogram: list[tuple[int, int]], total: int, p: float) -> float | None:
    """Nearest-rank percentile (minutes, the upper edge of its bucket) of a sorted histogram."""
    if not total:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for bucket, count in histogram:
        seen += count
        if seen >= rank:
            return float((bucket + 1) * TURNAROUND_BUCKET_MINUTES)
    return float((histogram[-1][0] + 1) * TURNAROUND_BUCKET_MINUTES)


def lab_turnaround(*, rnd: Round, actor: Actor) -> list[dict]:
    """Per lab: tubes reported, p50 / p90 hours from first sample to the lab's first report, on time share.

    Percentiles come from a histogram of 5-minute buckets computed in the database (exact to the
    bucket), so no per-tube row leaves it.
    """
    where, params = _site_where(actor)
    target_minutes = float(rnd.protocol.screening.result_target_hours) * 60
    minutes = _minutes("MIN(r.reported_at)", "t.first_collected_at")
    rows = _rows(
        f"SELECT lab_id, bucket, COUNT(*), SUM(on_time) FROM ("
        f"SELECT lab_id, {_floor_int(f'm / {TURNAROUND_BUCKET_MINUTES}')} AS bucket, "
        "CASE WHEN m <= %s THEN 1 ELSE 0 END AS on_time FROM ("
        "SELECT lab_id, CASE WHEN d < 0 THEN 0 ELSE d END AS m FROM ("
        f"SELECT r.lab_id AS lab_id, {minutes} AS d FROM {_t(Result)} r "
        f"JOIN {_t(Tube)} t ON t.barcode = r.tube_barcode JOIN {_t(Site)} st ON st.id = t.site_id "
        f"WHERE t.round_id = %s AND t.purpose = %s AND {where} "
        "GROUP BY r.lab_id, t.id, t.first_collected_at) a) b) c GROUP BY lab_id, bucket",
        [target_minutes, rnd.pk, SCREENING, *params],
    )
    by_lab: dict[int, list[tuple[int, int, int]]] = {}
    for lab_id, bucket, count, on_time in rows:
        by_lab.setdefault(lab_id, []).append((int(bucket), int(count), int(on_time or 0)))
    labs = {
        pk: (code, name)
        for pk, code, name in Lab.objects.filter(pk__in=by_lab).values_list("pk", "code", "name")
    }
    out = []
    for lab_id, buckets in by_lab.items():
        buckets.sort()
        total = sum(c for _, c, _ in buckets)
        on_time = sum(o for _, _, o in buckets)
        histogram = [(b, c) for b, c, _ in buckets]
        p50, p90 = _percentile(histogram, total, 0.5), _percentile(histogram, total, 0.9)
        out.append(
            {
                "code": labs.get(lab_id, ("", ""))[0],
                "name": labs.get(lab_id, ("", ""))[1],
                "tubes": total,
                "p50_hours": None if p50 is None else p50 / 60,
                "p90_hours": None if p90 is None else p90 / 60,
                "on_time": on_time,
                "on_time_share": _ratio(on_time, total),
                "late": p90 is not None and p90 > target_minutes,
            }
        )
    return sorted(out, key=lambda r: r["code"])


def site_throughput(*, rnd: Round, actor: Actor, limit: int = 10) -> list[dict]:
    """The busiest sites of the round in the jurisdiction: people and tubes, per active hour, peak hour."""
    where, params = _site_where(actor)
    hour = _hour("s.collected_at")
    rows = _rows(
        "WITH sh AS ("
        f"SELECT t.site_id AS site_id, {hour} AS h, COUNT(*) AS people, "
        f"COUNT(DISTINCT CASE WHEN {_hour('t.first_collected_at')} = {hour} THEN s.tube_id END) AS tubes "
        f"FROM {_t(Sample)} s JOIN {_t(Tube)} t ON t.id = s.tube_id JOIN {_t(Site)} st ON st.id = t.site_id "
        f"WHERE s.round_id = %s AND t.purpose = %s AND {where} GROUP BY t.site_id, {hour}) "
        "SELECT st.code, st.name, st.desks, SUM(sh.people), SUM(sh.tubes), COUNT(*), MAX(sh.people) "
        f"FROM sh JOIN {_t(Site)} st ON st.id = sh.site_id GROUP BY st.id, st.code, st.name, st.desks "
        "ORDER BY SUM(sh.people) DESC, st.code LIMIT %s",
        [rnd.pk, SCREENING, *params, limit],
    )
    return [
        {
            "code": code,
            "name": name,
            "desks": desks,
            "people": int(people),
            "tubes": int(tubes),
            "hours": int(hours),
            "people_per_hour": _ratio(int(people), int(hours)),
            "tubes_per_hour": _ratio(int(tubes), int(hours)),
            "people_per_desk_hour": _ratio(int(people), int(hours) * max(int(desks or 1), 1)),
            "peak_hour_people": int(peak),
        }
        for code, name, desks, people, tubes, hours, peak in rows
    ]


def sites_visible(*, actor: Actor) -> QuerySet[Site]:
    return Site.objects.visible_to(actor).select_related("community").order_by("code")


def labs_visible(*, actor: Actor) -> QuerySet[Lab]:
    return Lab.objects.visible_to(actor).order_by("code")
