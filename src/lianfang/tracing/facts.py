"""The facts tracing states for other apps (``Plugin.provides``; shapes in ``core.facts``).

``cases_as_of`` and ``plans_as_of`` are the same computation as ``lianfang trace plans``
(``rules.merge`` and ``rules.plans`` over the stored rows), restricted to what was recorded at a
time T: contact rows registered and cases reported at or before T, conversions at or before T.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.urls import reverse
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.core.facts import CaseFact, Overdue, PlanFact
from lianfang.tracing import rules
from lianfang.tracing.models import Case, ContactRow, TraceTask


def _cases(at: dt.datetime | None):
    cases = Case.objects.dangerously_all()
    if at is not None:
        cases = cases.filter(reported_at__lte=at)
    return cases.order_by("case_code")


def cases_as_of(at: dt.datetime | None = None) -> list[CaseFact]:
    """Every case reported at or before ``at`` (None: all), its conversion only if at or before ``at``."""
    cases = list(_cases(at))
    registry = _registry_communities(c.id_number for c in cases if not c.community_code)
    out = []
    for case in cases:
        confirmed = case.confirmed_at
        if confirmed is not None and at is not None and confirmed > at:
            confirmed = None
        out.append(
            CaseFact(
                case_code=case.case_code,
                id_type=case.id_type,
                id_number=case.id_number,
                community_code=case.community_code or registry.get(case.id_number, ""),
                classification_at_report=case.classification_at_report,
                found_in=case.found_in,
                reported_at=case.reported_at,
                confirmed_at=confirmed,
                phone=case.phone,
                severity=case.severity,
            )
        )
    return out


def _registry_communities(numbers) -> dict[str, str]:
    from lianfang.people.models import Person

    numbers = set(numbers)
    found: dict[str, str] = {}
    for number, community in (
        Person.objects.filter(id_number__in=numbers).order_by("-id").values_list("id_number", "community_id")
    ):
        found.setdefault(number, community or "")
    return found


def plan_rows(at: dt.datetime | None = None) -> list[rules.PlanRow]:
    """The plans report's rows as they stood at ``at`` (None: now, everything recorded)."""
    rows = ContactRow.objects.all()
    if at is not None:
        rows = rows.filter(registered_at__lte=at)
    fields = [f.name for f in dataclasses.fields(rules.Row)]
    values = rows.order_by("id").values_list("id", *fields[1:])
    merged = rules.merge(rules.Row(*v) for v in values.iterator(chunk_size=10_000))
    cases = [
        rules.CaseKey(case_code=code, id_number=number, reported_at=reported)
        for code, number, reported in _cases(at).values_list("case_code", "id_number", "reported_at")
    ]
    return rules.plans(merged.values(), cases)


def plans_as_of(at: dt.datetime | None = None) -> list[PlanFact]:
    rows = plan_rows(at)
    registry = _registry_communities(r.contact.id_number for r in rows if not r.contact.community_code)
    return [
        PlanFact(
            id_type=r.contact.id_type,
            id_number=r.contact.id_number,
            name=r.contact.name,
            category=r.contact.category,
            case_code=r.contact.case_code,
            community_code=r.contact.community_code or registry.get(r.contact.id_number, ""),
            registered_at=r.contact.registered_at,
            upgraded_at=r.upgraded_at,
            plan=r.plan,
        )
        for r in rows
    ]


def overdue_tracing(actor: Actor, at: dt.datetime | None = None) -> list[Overdue]:
    """Trace tasks past their core-trace or report clock at ``at`` (not done by then)."""
    at = at or timezone.now()
    tasks = (
        TraceTask.objects.visible_to(actor) if actor is not None else TraceTask.objects.dangerously_all()
    ).select_related("case")
    out = []
    for task in tasks.filter(core_due_at__lte=at) | tasks.filter(report_due_at__lte=at):
        url = reverse("tracing:task", args=[task.case.case_code])
        division = task.case.community_id or task.case.town_code or task.case.county_code
        for kind, due, done in (
            ("trace_core", task.core_due_at, task.core_done_at),
            ("trace_report", task.report_due_at, task.report_done_at),
        ):
            if due <= at and (done is None or done > at):
                label = f"{task.case.case_code} {'核心信息' if kind == 'trace_core' else '初步报告'}"
                out.append(
                    Overdue(
                        kind=kind,
                        label=label,
                        division_code=division,
                        due_at=due,
                        url=url,
                        ref=f"{kind}:{task.pk}",
                    )
                )
    out.sort(key=lambda o: o.due_at, reverse=True)
    return out


def in_custody(at: dt.datetime) -> set[int]:
    """``"in_custody.tracing"``: registry ids of the people tracing holds at ``at`` (FORMATS.md,
    Screening: "a case reported before the start, or a person whose close plan has begun and not
    ended at the start"). A case: reported strictly before ``at``. A close plan: as the plans report
    would have stated it at ``at`` (registered, or upgraded, at or before ``at``) and not ended
    (``monitoring_ends_at`` > ``at``, the plans' own end, as the zones rule reads it). Matched to the
    registry by ID type and number (a contact need not be in the registry: then nobody is exempted)."""
    from lianfang.people.models import Person

    keys = {
        (p.id_type, p.id_number) for p in plans_as_of(at) if p.category == "close" and not p.plan.ended(at)
    }
    numbers = set(
        Case.objects.dangerously_all().filter(reported_at__lt=at).values_list("id_number", flat=True)
    )
    held: set[int] = set()
    if numbers:
        held.update(Person.objects.filter(id_number__in=numbers).values_list("id", flat=True))
    wanted = {number for _, number in keys}
    if wanted:
        for pk, id_type, number in Person.objects.filter(id_number__in=wanted).values_list(
            "id", "id_type", "id_number"
        ):
            if (id_type, number) in keys:
                held.add(pk)
    return held


def in_custody_sql(person_id: str, at: dt.datetime) -> tuple[str, list]:
    """``"in_custody_sql.tracing"``: :func:`in_custody` as an SQL condition on ``person_id``. The
    plans are computed by the rules in Python (the merge and upgrade rules have no SQL twin), so
    the condition is the list of ids: a city's outbreak holds thousands of cases and close
    contacts, not millions."""
    held = sorted(in_custody(at))
    if not held:
        return "(1 = 0)", []
    return f"({person_id} IN ({', '.join(['%s'] * len(held))}))", held
