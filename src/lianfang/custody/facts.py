"""The facts custody states for other apps (``Plugin.provides``; shapes in ``core/facts.py``)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from lianfang.accounts.scoping import Actor
from lianfang.core.facts import Overdue, PlaceFact, ReleaseFact
from lianfang.custody import rules, tracing_facts
from lianfang.custody.models import Place, PlaceKind, Stay, StayEnd, StayTest, TransferCategory, TransferOrder
from lianfang.custody.selectors.monitoring import discharged_since, horizon, readmitted_at, tests_by_stay
from lianfang.custody.selectors.reads import with_occupancy
from lianfang.protocol import edition as edition_of


def discharges_as_of(at: dt.datetime | None = None) -> list[ReleaseFact]:
    """``"discharges_as_of"``: discharges from treatment and releases from isolation at or before ``at``."""
    stays = Stay.objects.dangerously_all().filter(end_kind__in=StayEnd.values)
    if at is not None:
        stays = stays.filter(ended_at__lte=at)
    return [
        ReleaseFact(
            id_type=s.person.id_type,
            id_number=s.person.id_number,
            kind=s.end_kind,
            case_code=s.case_code if s.end_kind == StayEnd.DISCHARGED else "",
            community_code=s.home_community,
            at=s.ended_at,
        )
        for s in stays.select_related("person").order_by("ended_at", "id")
    ]


def in_custody(at: dt.datetime | None = None) -> set[int]:
    """``"in_custody.custody"``: ids of the people checked in at ``at`` (check-in ≤ at < end)."""
    at = at or timezone.now()
    return set(
        Stay.objects.dangerously_all()
        .filter(checked_in_at__lte=at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
        .values_list("person_id", flat=True)
    )


def in_custody_sql(person_id: str, at: dt.datetime) -> tuple[str, list]:
    """``"in_custody_sql.custody"``: the same test as :func:`in_custody` as an SQL condition on the
    person id column ``person_id`` (the screening pages count in the database)."""
    table = Stay._meta.db_table
    return (
        f"EXISTS (SELECT 1 FROM {table} cs WHERE cs.person_id = {person_id} AND cs.checked_in_at <= %s "
        "AND (cs.ended_at IS NULL OR cs.ended_at > %s))",
        [at, at],
    )


def overdue(actor: Actor, at: dt.datetime | None = None) -> list[Overdue]:
    """``"overdue.custody"``: transfers past their clock and test days of isolation stays gone by
    without a negative test, as things stood at ``at``, that ``actor`` may see (rows, not models:
    a city's board has thousands), and test days of the home health monitoring after a discharge
    gone by without a test (``monitor_test_day``, for the home jurisdiction)."""
    at = at or timezone.now()
    out: list[Overdue] = []
    transfers_url = reverse("custody:transfers")  # + "<pk>/": one reverse, not one per row
    categories = dict(TransferCategory.choices)
    orders = (
        (
            TransferOrder.objects.visible_to(actor)
            if actor is not None
            else TransferOrder.objects.dangerously_all()
        )
        .filter(created_at__lte=at, due_at__lt=at)
        .filter(Q(delivered_at__isnull=True) | Q(delivered_at__gt=at))
        .filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gt=at))
        .values_list("id", "category", "community_id", "due_at", "person__name")
    )
    for pk, category, community, due_at, name in orders.iterator(chunk_size=5000):
        out.append(
            Overdue(
                kind="transfer",
                label=_("转运 %(name)s（%(category)s）")
                % {"name": name, "category": categories.get(category, category)},
                division_code=community,
                due_at=due_at,
                url=f"{transfers_url}{pk}/",
                ref=f"transfer:{pk}",
            )
        )
    if tracing_facts.installed():
        out.extend(_late_test_days(actor, at))
    out.extend(_missed_monitor_days(actor, at))
    return sorted(out, key=lambda o: o.due_at, reverse=True)


def _missed_monitor_days(actor: Actor, at: dt.datetime) -> list[Overdue]:
    """Test days of the home health monitoring after a discharge gone by without a test, for the
    home jurisdiction (``division_code`` the home community). A missed day stays on the board
    until the end of the local day after the monitoring window closed; a person checked in again
    at ``at`` is tested in custody and has none."""
    since = at - horizon()
    stays = list(
        discharged_since(
            Stay.objects.homed_in(actor) if actor is not None else Stay.objects.dangerously_all(),
            since=since,
            at=at,
        )
        .exclude(home_community="")
        .annotate(readmitted=readmitted_at(at))
        .filter(readmitted=False)
        .values_list("id", "edition", "ended_at", "home_community", "person__name")
    )
    if not stays:
        return []
    tests = tests_by_stay([s[0] for s in stays], since=since, at=at)
    stays_url = reverse("custody:stays")
    out = []
    for pk, edition, ended_at, community, name in stays:
        m = rules.monitoring(edition_of(edition), ended_at, tests.get(pk, []), at)
        if at >= rules.day_end(rules.local_date(m.plan.closes_at)):
            continue  # history: the monitoring page of the stay still shows it
        for day in m.missed:
            out.append(
                Overdue(
                    kind="monitor_test_day",
                    label=_("%(name)s 出院后居家监测检测日 %(day)s") % {"name": name, "day": day.day},
                    division_code=community,
                    due_at=day.due_at,
                    url=f"{stays_url}{pk}/",
                    ref=f"monitor_test_day:{pk}:{day.day.isoformat()}",
                )
            )
    return out


def _late_test_days(actor: Actor, at: dt.datetime) -> list[Overdue]:
    """Test days of the hotel stays at the actor's places gone by without a negative test."""
    stays = list(
        (Stay.objects.held_by(actor) if actor is not None else Stay.objects.dangerously_all())
        .filter(checked_in_at__lte=at, unit__place__kind=PlaceKind.HOTEL)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
        .values_list(
            "id",
            "checked_in_at",
            "person__id_type",
            "person__id_number",
            "person__name",
            "unit__label",
            "unit__place__name",
            "unit__place__community_id",
        )
    )
    plans = tracing_facts.plans_by_key(at) if stays else None
    if not plans:
        return []
    tests: dict[int, list[rules.Test]] = {}
    for t in StayTest.objects.filter(stay_id__in=[s[0] for s in stays], sampled_at__lte=at):
        tests.setdefault(t.stay_id, []).append(rules.Test(t.sampled_at, t.result, t.ct_n, t.ct_orf1ab))
    stays_url = reverse("custody:stays")
    out = []
    for pk, checked_in_at, id_type, id_number, name, unit, place, community in stays:
        for day in rules.test_days(plans.get((id_type, id_number)), checked_in_at, tests.get(pk, [])):
            if not day.done and day.due_at <= at:
                out.append(
                    Overdue(
                        kind="test_day",
                        label=_("%(name)s 检测日 %(day)s（%(place)s %(unit)s）")
                        % {"name": name, "day": day.day, "place": place, "unit": unit},
                        division_code=community,
                        due_at=day.due_at,
                        url=f"{stays_url}{pk}/",
                        ref=f"test_day:{pk}:{day.day.isoformat()}",
                    )
                )
    return out


def places_now(actor: Actor | None) -> list[PlaceFact]:
    """``"places_now"``: the places ``actor`` may see (None: all), rooms or beds and how many are
    taken by an open stay now (derived from stays, never typed in)."""
    places = Place.objects.visible_to(actor) if actor is not None else Place.objects.dangerously_all()
    rows = with_occupancy(places).values_list(
        "pk", "code", "name", "kind", "community_id", "units_total", "units_used"
    )
    return [
        PlaceFact(
            code=code,
            name=name,
            kind=kind,
            division_code=community,
            units=total,
            taken=taken,
            url=reverse("custody:place", args=[pk]),
        )
        for pk, code, name, kind, community, total, taken in rows.order_by("code")
    ]
