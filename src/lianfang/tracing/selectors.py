"""The tracing reads, each taking the actor (scoped through ``visible_to``)."""

from __future__ import annotations

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
