"""The big screen (指挥大屏): its figures for a jurisdiction, computed at most once per refresh
interval whatever the number of screens polling (see :class:`lianfang.command.models.ScreenSnapshot`)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.command.models import Problem, ProblemState, ScreenSnapshot
from lianfang.command.services.briefing import DAY, IN_CONTROL
from lianfang.core import codes
from lianfang.core.plugins import provider, providers
from lianfang.core.times import SHANGHAI, format_time

# Seconds between two polls of a screen, and the life of one computation (a display setting, not a
# rule of the response).
REFRESH_SECONDS = int(os.environ.get("LIANFANG_SCREEN_REFRESH", "30"))
DAYS_SHOWN = 14
LEVEL_NAMES = {
    2: ("省级", "province"),
    4: ("市级", "city"),
    6: ("县级", "county"),
    9: ("镇街", "town"),
    12: ("村社", "community"),
}

_lock = threading.Lock()
computations = 0  # how many times this process computed the figures (the load test reads it)


def _key(actor: Actor) -> str:
    return "screen:" + ",".join(actor.codes)


def _in(actor: Actor, code: str) -> bool:
    return bool(code) and actor.covers(code)


def compute(actor: Actor, now: dt.datetime) -> dict:
    """Every panel's figures for the actor's jurisdiction, as they stand at ``now``."""
    global computations
    computations += 1
    from lianfang.geo.models import Division, Level

    local_today = now.astimezone(SHANGHAI).date()
    days = [local_today - DAY * i for i in range(DAYS_SHOWN - 1, -1, -1)]
    counties = list(
        Division.objects.inside(actor).filter(level=Level.COUNTY).order_by("code").values_list("code", "name")
    ) or [
        (c, n)
        for c, n in Division.objects.filter(level=Level.COUNTY).order_by("code").values_list("code", "name")
        if any(codes.inside(a, c) for a in actor.codes)
    ]

    infections = None
    county_new: dict[str, int | None] = {c: None for c, _ in counties}
    cases_of = provider("cases_as_of")
    if cases_of is not None:
        by_day = {d: {"in_control": 0, "in_society": 0} for d in days}
        county_new = {c: 0 for c, _ in counties}
        since = now - DAY
        for case in cases_of(now):
            if not _in(actor, case.community_code):
                continue
            day = case.reported_at.astimezone(SHANGHAI).date()
            if day in by_day:
                by_day[day]["in_control" if case.found_in in IN_CONTROL else "in_society"] += 1
            if case.reported_at >= since and case.community_code[:6] in county_new:
                county_new[case.community_code[:6]] += 1
        infections = [{"day": d.isoformat(), **v} for d, v in by_day.items()]

    round_panel = None
    from lianfang.screening.selectors.areas import coverage_breakdown
    from lianfang.screening.selectors.rounds import rounds_visible

    rnd = rounds_visible(actor=actor).filter(status="open").order_by("-starts_at").first()
    if rnd is not None:
        rows, total = coverage_breakdown(rnd=rnd, actor=actor)
        round_panel = {
            "code": rnd.code,
            "name": rnd.name,
            "url": f"/rounds/{rnd.code}/",
            "deadline": format_time(rnd.deadline_at),
            "coverage_pct": total["coverage_pct"],
            "rows": [
                {"name": r["name"], "coverage_pct": r["coverage_pct"], "untested": r["untested"]}
                for r in rows
            ],
        }

    overdue: dict[str, int] = {}  # every app's late hand-offs, screening's re-checks among them
    for stated in providers("overdue"):
        for item in stated(actor, now):
            overdue[item.kind] = overdue.get(item.kind, 0) + 1

    problems: dict[int, dict] = {}
    for code, state, deadline in (
        Problem.objects.visible_to(actor).open().values_list("division_code", "state", "deadline_at")
    ):
        level = problems.setdefault(len(code), {"open": 0, "overdue": 0, "fixed": 0})
        level["open"] += 1
        level["overdue"] += deadline < now
        level["fixed"] += state == ProblemState.FIXED

    from lianfang.screening.selectors.labs import labs_visible

    rooms_free = beds_free = None
    places_now = provider("places_now")
    if places_now is not None:
        rooms_free = beds_free = 0
        for place in places_now(actor):
            if place.kind == "hotel":
                rooms_free += place.units - place.taken
            else:
                beds_free += place.units - place.taken
    capacity = sum(
        labs_visible(actor=actor).exclude(daily_capacity=None).values_list("daily_capacity", flat=True)
    )
    return {
        "at": format_time(now),
        "refresh_seconds": REFRESH_SECONDS,
        "infections": infections,
        "map": [{"code": c, "name": n, "value": county_new[c]} for c, n in counties],
        "round": round_panel,
        "overdue": [{"kind": k, "count": v} for k, v in sorted(overdue.items())],
        "problems": [
            {
                "level": LEVEL_NAMES.get(length, ("", ""))[0],
                "level_key": LEVEL_NAMES.get(length, ("", ""))[1],
                **v,
            }
            for length, v in sorted(problems.items())
        ],
        "lab_capacity": capacity,
        "isolation_rooms": rooms_free,  # free rooms of isolation hotels; None ("—"): custody not installed
        "treatment_beds": beds_free,  # free beds of 方舱 and designated hospitals
    }


def screen_data(*, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The figures for the actor's jurisdiction in the current interval: from this process's cache,
    else the stored snapshot, else computed by the one caller that claims the interval; the
    others are served the latest finished snapshot (at most one interval old) meanwhile."""
    now = now or timezone.now()
    key = _key(actor)
    bucket = int(now.timestamp()) // REFRESH_SECONDS
    local_key = f"{key}:{bucket}"
    hit = cache.get(local_key)
    if hit is not None:
        return hit
    with _lock:  # one thread of this process goes to the database for the interval
        hit = cache.get(local_key)
        if hit is not None:
            return hit
        row = ScreenSnapshot.objects.filter(key=key, bucket=bucket).exclude(payload=None).first()
        if row is not None:
            cache.set(local_key, row.payload, REFRESH_SECONDS)
            return row.payload
        try:
            with transaction.atomic():
                claim = ScreenSnapshot.objects.create(key=key, bucket=bucket)
        except IntegrityError:
            claim = None  # another process computes this interval
        if claim is not None:
            payload = compute(actor, now)
            ScreenSnapshot.objects.filter(pk=claim.pk).update(payload=payload, computed_at=timezone.now())
            # A day of intervals is kept (how often the figures were computed is itself worth seeing).
            ScreenSnapshot.objects.filter(key=key, bucket__lt=bucket - 86400 // REFRESH_SECONDS).delete()
            cache.set(local_key, payload, REFRESH_SECONDS)
            return payload
        deadline = time.monotonic() + 5
        while True:
            latest = (
                ScreenSnapshot.objects.filter(key=key, bucket__lte=bucket)
                .exclude(payload=None)
                .order_by("-bucket")
                .first()
            )
            if latest is not None:
                if latest.bucket == bucket:
                    cache.set(local_key, latest.payload, REFRESH_SECONDS)
                return latest.payload
            if time.monotonic() > deadline:
                return {"at": format_time(now), "refresh_seconds": REFRESH_SECONDS, "pending": True}
            time.sleep(0.2)
