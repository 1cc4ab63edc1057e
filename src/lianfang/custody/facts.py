"""The facts custody states for other apps (``Plugin.provides``; shapes in ``core/facts.py``)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from lianfang.accounts.scoping import Actor
from lianfang.core.facts import Overdue, ReleaseFact
from lianfang.custody import rules, tracing_facts
from lianfang.custody.models import Stay, StayEnd, StayTest, TransferOrder


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
    without a negative test, as things stood at ``at``, that ``actor`` may see."""
    at = at or timezone.now()
    out: list[Overdue] = []
    transfers_url = reverse("custody:transfers")  # + "<pk>/": one reverse, not one per order
    orders = (
        TransferOrder.objects.visible_to(actor)
        .filter(created_at__lte=at, due_at__lt=at)
        .filter(Q(delivered_at__isnull=True) | Q(delivered_at__gt=at))
        .filter(Q(cancelled_at__isnull=True) | Q(cancelled_at__gt=at))
        .select_related("person")
        .only("id", "category", "community_id", "due_at", "person__name")
    )
    for o in orders:
        out.append(
            Overdue(
                kind="transfer",
                label=_("转运 %(name)s（%(category)s）")
                % {"name": o.person.name, "category": o.get_category_display()},
                division_code=o.community_id,
                due_at=o.due_at,
                url=f"{transfers_url}{o.pk}/",
                ref=f"transfer:{o.pk}",
            )
        )
    stays = list(
        Stay.objects.held_by(actor)
        .filter(checked_in_at__lte=at, unit__place__kind="hotel")
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
        .select_related("person", "unit__place")
    )
    plans = tracing_facts.plans_by_key(at) if stays else None
    if plans:
        tests: dict[int, list[rules.Test]] = {}
        for t in StayTest.objects.filter(stay__in=stays, sampled_at__lte=at):
            tests.setdefault(t.stay_id, []).append(rules.Test(t.sampled_at, t.result, t.ct_n, t.ct_orf1ab))
        for s in stays:
            plan = plans.get((s.person.id_type, s.person.id_number))
            for day in rules.test_days(plan, s.checked_in_at, tests.get(s.pk, [])):
                if not day.done and day.due_at <= at:
                    out.append(
                        Overdue(
                            kind="test_day",
                            label=_("%(name)s 检测日 %(day)s（%(place)s %(unit)s）")
                            % {
                                "name": s.person.name,
                                "day": day.day,
                                "place": s.unit.place.name,
                                "unit": s.unit.label,
                            },
                            division_code=s.unit.place.community_id,
                            due_at=day.due_at,
                            url=reverse("custody:stay", args=[s.pk]),
                            ref=f"test_day:{s.pk}:{day.day.isoformat()}",
                        )
                    )
    return sorted(out, key=lambda o: o.due_at, reverse=True)
