"""/api/v1/tracing: cases, their trace tasks and contacts with their plans, for field systems and
the other city systems.

Reads go through the pages' selectors (``visible_to``: deny by default, "not yours" is the same
404 as "not there"), show people masked unless the token's role needs them, need ``persons.read``
(a harvested sampling or lab token reads no case) and write one audit event each. Writes call the
pages' services (the same validation, role and jurisdiction rules); a refusal answers
``{"detail": "中文 / English"}``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.http import Http404
from django.utils import timezone
from ninja import Router, Schema
from ninja.errors import HttpError

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core.fields import API_READS_PEOPLE, api_choice, api_page, api_text, api_time
from lianfang.tracing import selectors, services
from lianfang.tracing.models import Case, Classification, Contact, ContactRow, TraceTask

router = Router(tags=["tracing"])


CaseCode = api_text(Case._meta.get_field("case_code"))
Status = api_choice(selectors.TRACE_STATUSES, zh="流调状态须为以下之一", en="status must be one of")
ClassificationChoice = api_choice(
    Classification.values, zh="分类须为以下之一", en="classification must be one of"
)
_row = ContactRow._meta.get_field
TimeText = api_text(max_length=40)  # the contract's times, parsed by the importer's rule


def _reader(request) -> Actor:
    actor: Actor = request.auth
    require(actor, "persons.read")
    return actor


@contextmanager
def _refusals() -> Iterator[None]:
    """A service's "not there (or not yours)" as 404; its other refusals go to the API's handler
    (403 for the role, 400 with the reason)."""
    try:
        yield
    except services.NotFound as exc:
        raise HttpError(404, str(exc)) from exc


# --- schemas ---------------------------------------------------------------------------------


class Late(Schema):
    core: bool
    report: bool


class CaseOut(Schema):
    case_code: str
    id_type: str
    id_number: str
    name: str
    phone: str
    masked: bool
    classification: str
    classification_at_report: str
    confirmed_at: dt.datetime | None
    first_positive_sampled_at: dt.datetime
    reported_at: dt.datetime
    found_in: str
    severity: str
    community_code: str
    placement_proposed: str
    placement: str
    edition: str
    status: str
    late: Late


class TaskOut(Schema):
    team: str
    opened_at: dt.datetime
    core_due_at: dt.datetime
    report_due_at: dt.datetime
    core_done_at: dt.datetime | None
    report_done_at: dt.datetime | None
    exposure_from: dt.datetime
    exposure_to: dt.datetime
    places: str
    edition: str
    late: Late


class CaseDetailOut(CaseOut):
    task: TaskOut | None
    conversions: list[dt.datetime]
    contacts: int


class PlanOut(Schema):
    edition: str
    category: str
    measure: str
    measure_label: str
    last_exposure_at: dt.datetime
    ends_at: dt.datetime
    monitoring_ends_at: dt.datetime
    test_days: list[dt.date]
    upgraded_at: dt.datetime | None
    case_code: str


class ContactOut(Schema):
    id: int
    case_code: str
    category: str
    id_type: str
    id_number: str
    name: str
    phone: str
    masked: bool
    community_code: str
    place: str
    last_exposure_at: dt.datetime
    registered_at: dt.datetime
    is_case: bool
    measure: str
    ends_at: dt.datetime | None


class ContactPlanOut(Schema):
    contact_id: int
    id_type: str
    id_number: str
    name: str
    masked: bool
    is_case: bool
    plan: PlanOut | None


class ContactIn(Schema):
    category: api_text(max_length=20)
    id_type: api_text(_row("id_type")) = ""
    id_number: api_text(_row("id_number"))
    name: api_text(_row("name"))
    via_id_number: api_text(_row("via_id_number")) = ""
    phone: api_text(_row("phone")) = ""
    community_code: api_text(_row("community_code")) = ""
    place: api_text(_row("place")) = ""
    last_exposure_at: TimeText
    registered_at: TimeText = ""


class TraceIn(Schema):
    team: api_text(TraceTask._meta.get_field("team")) | None = None
    places: api_text(max_length=5000) | None = None
    core_done: bool = False
    report_done: bool = False
    exposure_to: api_time() | None = None


# --- presenting --------------------------------------------------------------------------------


def _case_out(case: Case, actor: Actor, now: dt.datetime) -> dict:
    task = getattr(case, "trace_task", None)
    late = task.is_late(now) if task is not None else {"core": False, "report": False}
    return {
        "case_code": case.case_code,
        "id_type": case.id_type,
        "name": case.name,
        **selectors.shown(case, actor),
        "classification": case.classification,
        "classification_at_report": case.classification_at_report,
        "confirmed_at": case.confirmed_at,
        "first_positive_sampled_at": case.first_positive_sampled_at,
        "reported_at": case.reported_at,
        "found_in": case.found_in,
        "severity": case.severity,
        "community_code": case.community_id or "",
        "placement_proposed": case.placement_proposed,
        "placement": case.placement,
        "edition": case.edition,
        "status": selectors.trace_status(case, now),
        "late": late,
    }


def _task_out(task: TraceTask, now: dt.datetime) -> dict:
    return {
        "team": task.team,
        "opened_at": task.opened_at,
        "core_due_at": task.core_due_at,
        "report_due_at": task.report_due_at,
        "core_done_at": task.core_done_at,
        "report_done_at": task.report_done_at,
        "exposure_from": task.exposure_from,
        "exposure_to": task.exposure_to,
        "places": task.places,
        "edition": task.edition,
        "late": task.is_late(now),
    }


def _contact_out(row: dict) -> dict:
    contact: Contact = row["contact"]
    plan = row["plan"]
    return {
        "id": contact.pk,
        "case_code": contact.case.case_code,
        "category": contact.category,
        "id_type": contact.id_type,
        "id_number": row["id_number"],
        "name": contact.name,
        "phone": row["phone"],
        "masked": row["masked"],
        "community_code": contact.community_id or "",
        "place": contact.place,
        "last_exposure_at": contact.last_exposure_at,
        "registered_at": contact.registered_at,
        "is_case": row["is_case"],
        "measure": plan.plan.measure if plan is not None else "",
        "ends_at": plan.plan.ends_at if plan is not None else None,
    }


def _case_or_404(actor: Actor, case_code: str) -> Case:
    case = selectors.case_get(actor=actor, case_code=case_code)
    if case is None:
        raise Http404  # the same answer for not there and not yours
    return case


# --- cases -------------------------------------------------------------------------------------


@router.get("/cases", response=list[CaseOut], openapi_extra=API_READS_PEOPLE)
def cases(
    request,
    status: Status | None = None,
    classification: ClassificationChoice | None = None,
    limit: int = 50,
    offset: int = 0,
):
    """The token's cases, newest report first; ``status`` is the trace's (``late``: a clock
    missed now; ``reported``: the preliminary report done; ``open``: neither)."""
    actor = _reader(request)
    now = timezone.now()
    found = selectors.cases_filtered(
        actor=actor, status=status or "", classification=classification or "", now=now
    )
    rows = [_case_out(c, actor, now) for c in found[api_page(limit, offset)]]
    audit_record(
        actor=actor,
        action="view",
        object_type="cases",
        detail={
            "status": status or "",
            "classification": classification or "",
            "offset": offset,
            "count": len(rows),
            "masked": not actor.sees_personal_data,
            "api": True,
        },
    )
    return rows


@router.get("/cases/{case_code}", response=CaseDetailOut, openapi_extra=API_READS_PEOPLE)
def case(request, case_code: CaseCode):
    """One case with its trace task's clocks, its conversions and how many contacts it has."""
    actor = _reader(request)
    found = _case_or_404(actor, case_code)
    now = timezone.now()
    task = getattr(found, "trace_task", None)
    out = {
        **_case_out(found, actor, now),
        "task": _task_out(task, now) if task is not None else None,
        "conversions": [c.converted_at for c in found.conversions.all()],
        "contacts": selectors.contacts_visible(actor=actor, case=found).count(),
    }
    audit_record(
        actor=actor, action="view", object_type="case", object_id=found.case_code, detail={"api": True}
    )
    return out


@router.get("/cases/{case_code}/contacts", response=list[ContactOut], openapi_extra=API_READS_PEOPLE)
def case_contacts(request, case_code: CaseCode, limit: int = 100, offset: int = 0):
    """The contacts of a case (merged per person), each with their plan's measure and end."""
    actor = _reader(request)
    found = _case_or_404(actor, case_code)
    listed = selectors.contacts_visible(actor=actor, case=found)[api_page(limit, offset)]
    rows = [_contact_out(r) for r in selectors.with_plans(listed, actor)]
    audit_record(
        actor=actor,
        action="view",
        object_type="contacts",
        object_id=found.case_code,
        detail={"count": len(rows), "masked": not actor.sees_personal_data, "api": True},
    )
    return rows


@router.get("/contacts/{contact_id}/plan", response=ContactPlanOut, openapi_extra=API_READS_PEOPLE)
def contact_plan(request, contact_id: int):
    """A contact's control plan by the plans report's rule (upgrade of a secondary whose close
    contact became a case, 缺几天补几天), under the edition in force when they were registered;
    a contact who is a case has none (``is_case``: treatment takes over)."""
    actor = _reader(request)
    contact = selectors.contact_get(actor=actor, pk=contact_id)
    if contact is None:
        raise Http404
    row = selectors.with_plans([contact], actor)[0]
    plan = row["plan"]
    audit_record(
        actor=actor, action="view", object_type="contact", object_id=contact.pk, detail={"api": True}
    )
    return {
        "contact_id": contact.pk,
        "id_type": contact.id_type,
        "id_number": row["id_number"],
        "name": contact.name,
        "masked": row["masked"],
        "is_case": row["is_case"],
        "plan": None
        if plan is None
        else {
            "edition": plan.plan.edition,
            "category": plan.contact.category,
            "measure": plan.plan.measure,
            "measure_label": row.get("measure_label", ""),
            "last_exposure_at": plan.plan.last_exposure_at,
            "ends_at": plan.plan.ends_at,
            "monitoring_ends_at": plan.plan.monitoring_ends_at,
            "test_days": list(plan.plan.test_days),
            "upgraded_at": plan.upgraded_at,
            "case_code": plan.contact.case_code,
        },
    }


# --- writes ------------------------------------------------------------------------------------


@router.post("/cases/{case_code}/contacts", response=ContactOut)
def contact_add(request, case_code: CaseCode, body: ContactIn):
    """One contact of a case, by the rules of a contacts.csv row (the trace page's form): a
    person listed again is merged; a refused row answers its reason."""
    actor: Actor = request.auth
    found = _case_or_404(actor, case_code)
    with _refusals():
        contact = services.contact_add(actor=actor, case=found, fields=body.dict())
    contact = selectors.contact_get(actor=actor, pk=contact.pk) or contact
    return _contact_out(selectors.with_plans([contact], actor)[0])


@router.post("/cases/{case_code}/trace", response=TaskOut)
def trace_update(request, case_code: CaseCode, body: TraceIn):
    """The trace task's progress: its team, the places, the core trace or the report done (now),
    the case's isolation time (the end of the exposure window)."""
    actor: Actor = request.auth
    task = selectors.task_get(actor=actor, case_code=case_code)
    if task is None:
        raise Http404
    with _refusals():
        task = services.trace_task_update(
            actor=actor,
            task=task,
            team=body.team,
            places=body.places,
            core_done=body.core_done,
            report_done=body.report_done,
            exposure_to=body.exposure_to,
        )
    return _task_out(task, timezone.now())
