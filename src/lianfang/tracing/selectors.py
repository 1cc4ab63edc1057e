"""The tracing reads, each taking the actor (scoped through ``visible_to``)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language

from lianfang import protocol
from lianfang.accounts.masking import mask_id_number, mask_phone
from lianfang.accounts.scoping import Actor
from lianfang.tracing import rules
from lianfang.tracing.models import Case, Contact, ContactRow, TraceTask


def cases_visible(*, actor: Actor, q: str = ""):
    cases = Case.objects.visible_to(actor).select_related("trace_task")
    q = q.strip()
    if q:
        cases = cases.filter(case_code__icontains=q) | cases.filter(name__icontains=q)
    return cases.order_by("-reported_at", "case_code")


# A case's trace status (the API's filter): a clock missed now, else the report done, else open.
TRACE_STATUSES = ("open", "late", "reported")


def _late_q(now: dt.datetime) -> Q:
    return Q(trace_task__core_done_at__isnull=True, trace_task__core_due_at__lte=now) | Q(
        trace_task__report_done_at__isnull=True, trace_task__report_due_at__lte=now
    )


def cases_filtered(
    *, actor: Actor, status: str = "", classification: str = "", now: dt.datetime | None = None
):
    """The actor's cases, by trace status (:data:`TRACE_STATUSES`) and classification now
    (confirmed once converted); an empty filter keeps every case."""
    now = now or timezone.now()
    cases = cases_visible(actor=actor)
    if status == "late":
        cases = cases.filter(_late_q(now))
    elif status == "reported":
        cases = cases.exclude(_late_q(now)).filter(trace_task__report_done_at__isnull=False)
    elif status == "open":
        cases = cases.exclude(_late_q(now)).filter(trace_task__report_done_at__isnull=True)
    if classification == "confirmed":
        cases = cases.filter(Q(confirmed_at__isnull=False) | Q(classification_at_report="confirmed"))
    elif classification == "asymptomatic":
        cases = cases.filter(confirmed_at__isnull=True, classification_at_report="asymptomatic")
    return cases


def trace_status(case: Case, now: dt.datetime) -> str:
    """One case's value of :data:`TRACE_STATUSES` (the rule of :func:`cases_filtered`)."""
    task = getattr(case, "trace_task", None)
    if task is None:
        return "open"
    if any(task.is_late(now).values()):
        return "late"
    return "reported" if task.report_done_at is not None else "open"


def case_get(*, actor: Actor, case_code: str) -> Case | None:
    return Case.objects.visible_to(actor).filter(case_code=case_code).select_related("trace_task").first()


def task_get(*, actor: Actor, case_code: str) -> TraceTask | None:
    return (
        TraceTask.objects.visible_to(actor).filter(case__case_code=case_code).select_related("case").first()
    )


def contacts_visible(*, actor: Actor, case: Case | None = None):
    contacts = Contact.objects.visible_to(actor).select_related("case")
    if case is not None:
        contacts = contacts.filter(case=case)
    return contacts.order_by("id_type", "id_number")


def contact_get(*, actor: Actor, pk: int) -> Contact | None:
    return Contact.objects.visible_to(actor).select_related("case").filter(pk=pk).first()


def shown(obj, actor: Actor) -> dict:
    """A case's or contact's personal data as ``actor`` may see it."""
    full = actor.sees_personal_data
    return {
        "id_number": obj.id_number if full else mask_id_number(obj.id_number),
        "phone": obj.phone if full else mask_phone(obj.phone),
        "masked": not full,
    }


def _row(contact: Contact) -> rules.Row:
    return rules.Row(
        order=contact.pk,
        case_code=contact.case.case_code,
        category=contact.category,
        id_type=contact.id_type,
        id_number=contact.id_number,
        name=contact.name,
        via_id_number=contact.via_id_number,
        phone=contact.phone,
        community_code=contact.community_code,
        place=contact.place,
        last_exposure_at=contact.last_exposure_at,
        registered_at=contact.registered_at,
        edition=contact.edition,
    )


def with_plans(contacts, actor: Actor) -> list[dict]:
    """Each contact with their plan (the plans report's rule: upgrade, cases excluded, late rule)."""
    contacts = list(contacts)
    numbers = {c.id_number for c in contacts} | {c.via_id_number for c in contacts if c.via_id_number}
    cases = [
        rules.CaseKey(case_code=code, id_number=number, reported_at=reported)
        for code, number, reported in Case.objects.filter(id_number__in=numbers).values_list(
            "case_code", "id_number", "reported_at"
        )
    ]
    plans = {
        (p.contact.id_type, p.contact.id_number): p for p in rules.plans([_row(c) for c in contacts], cases)
    }
    english = (get_language() or "").startswith("en")
    out = []
    for contact in contacts:
        plan = plans.get((contact.id_type, contact.id_number))
        labels = {}
        if plan is not None:
            labels = {
                "category_label": protocol.CATEGORY_LABELS[plan.contact.category][english],
                "measure_label": protocol.MEASURE_LABELS[plan.plan.measure][english],
            }
        out.append(
            {"contact": contact, "plan": plan, "is_case": plan is None, **labels, **shown(contact, actor)}
        )
    return out


def rows_of_contact(*, contact: Contact):
    return ContactRow.objects.filter(id_type=contact.id_type, id_number=contact.id_number).order_by("id")


CHAIN_LIMIT = 3000  # nodes drawn at most (a graph beyond that is unreadable; the page says so)


def chain_graph(*, actor: Actor) -> dict:
    """Transmission chains as a graph: one node per person (a case, or a contact), an edge from a
    case to each person listed as its contact; a contact who is a case is that case's node, so
    chains read case → contact → case. Only the actor's cases and the contacts they may see."""
    cases = list(
        Case.objects.visible_to(actor).values_list(
            "case_code", "id_number", "name", "classification_at_report", "confirmed_at"
        )
    )
    case_of = {number: code for code, number, *_ in cases}
    nodes: dict[str, dict] = {}
    for code, number, name, at_report, confirmed in cases:
        nodes[number] = {
            "id": number,
            "name": f"{code} {name}",
            "category": "confirmed" if confirmed or at_report == "confirmed" else "asymptomatic",
            "url": f"/tracing/cases/{code}/",
        }
    links = set()
    rows = (
        ContactRow.objects.visible_to(actor)
        .filter(case__in=Case.objects.visible_to(actor))
        .values_list("case__id_number", "id_number", "name", "category")
        .order_by("id")
    )
    for source, number, name, category in rows.iterator(chunk_size=5000):
        if number not in nodes:
            if len(nodes) >= CHAIN_LIMIT:
                continue
            nodes[number] = {"id": number, "name": name, "category": category, "url": ""}
        if source != number:
            links.add((source, number))
    return {
        "nodes": list(nodes.values()),
        "links": [{"source": s, "target": t} for s, t in sorted(links) if s in nodes and t in nodes],
        "truncated": len(nodes) >= CHAIN_LIMIT,
        "cases": len(case_of),
    }
