"""Reads of the home health monitoring after a discharge (出院后居家健康监测): the list of the
people in monitoring in the actor's jurisdiction (by their home community), one stay's
monitoring, and a person's.

A discharged stay's monitoring is the home jurisdiction's: the place that discharged the person
sees the stay, not the monitoring (``home_covers``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.custody import rules
from lianfang.custody.models import Stay, StayEnd, StayTest
from lianfang.custody.services.stays import home_covers
from lianfang.people.presenters import person_public
from lianfang.protocol import EDITIONS
from lianfang.protocol import edition as edition_of


def horizon() -> dt.timedelta:
    """How far back a discharge may lie and its monitoring still matter, whatever the edition: the
    longest monitoring or last test day of any edition, plus two calendar days (the window closes
    at the end of its last local day; a missed last day stays overdue through the next day)."""
    days = max(
        max((e.treatment.after_discharge_monitoring_days, *e.treatment.after_discharge_test_days))
        for e in EDITIONS.values()
    )
    return dt.timedelta(days=days + 2)


def tests_by_stay(stay_ids: list[int], *, since: dt.datetime, at: dt.datetime) -> dict[int, list[rules.Test]]:
    """The tests of these stays sampled from ``since`` to ``at`` (one query)."""
    out: dict[int, list[rules.Test]] = {}
    rows = StayTest.objects.filter(stay_id__in=stay_ids, sampled_at__gte=since, sampled_at__lte=at)
    for t in rows.order_by("sampled_at", "id"):
        out.setdefault(t.stay_id, []).append(rules.Test(t.sampled_at, t.result, t.ct_n, t.ct_orf1ab))
    return out


def readmitted_at(at: dt.datetime) -> Exists:
    """Whether the stay's person was checked in (again) somewhere at ``at``: tested in custody,
    their home test days are not missed."""
    return Exists(
        Stay.objects.dangerously_all()
        .filter(person=OuterRef("person"), checked_in_at__lte=at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
    )


def discharged_since(qs, *, since: dt.datetime, at: dt.datetime):
    return qs.filter(end_kind=StayEnd.DISCHARGED, ended_at__gte=since, ended_at__lte=at)


@dataclass(frozen=True)
class MonitoringRow:
    stay: Stay
    p: dict  # the person as the actor may see them (person_public)
    m: rules.Monitoring
    readmitted: bool


def monitoring_list(*, actor: Actor, now: dt.datetime | None = None) -> list[MonitoringRow]:
    """People in home health monitoring now whose home lies in the actor's jurisdiction: a
    positive result first, then the most missed test days, then the nearest next test day."""
    now = now or timezone.now()
    since = now - horizon()
    stays = list(
        discharged_since(Stay.objects.homed_in(actor), since=since, at=now)
        .select_related("person", "person__community", "unit__place")
        .annotate(readmitted=readmitted_at(now))
        .order_by("ended_at", "id")
    )
    tests = tests_by_stay([s.pk for s in stays], since=since, at=now)
    rows = []
    for s in stays:
        m = rules.monitoring(edition_of(s.edition), s.ended_at, tests.get(s.pk, []), now)
        if m.running:
            rows.append(MonitoringRow(stay=s, p=person_public(s.person, actor), m=m, readmitted=s.readmitted))
    far = dt.date.max
    return sorted(
        rows,
        key=lambda r: (not r.m.positive, -len(r.m.missed), r.m.next_day.day if r.m.next_day else far),
    )


def stay_monitoring(stay: Stay, actor: Actor, now: dt.datetime | None = None) -> rules.Monitoring | None:
    """A discharged stay's monitoring, for its home jurisdiction only (None otherwise)."""
    if stay.end_kind != StayEnd.DISCHARGED or stay.ended_at is None or not home_covers(actor, stay):
        return None
    now = now or timezone.now()
    tests = tests_by_stay([stay.pk], since=stay.ended_at, at=now).get(stay.pk, [])
    return rules.monitoring(edition_of(stay.edition), stay.ended_at, tests, now)
