"""A request's life: filed (worker, hotline, resident) → accepted → assigned to a worker or
volunteer → delivered at the door with proof → closed. Clocks in minutes from the edition in
force when it was filed; an urgent request not accepted in its minutes escalates once."""

from __future__ import annotations

import datetime as dt
import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from lianfang import protocol
from lianfang.accounts.models import User
from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core import codes
from lianfang.core.errors import Refused
from lianfang.core.fields import bad_text
from lianfang.edition.services import in_force
from lianfang.geo.models import Division, Level
from lianfang.livelihood.models import (
    KIND_URGENCY,
    URGENCY_RANK,
    Kind,
    Package,
    Request,
    Source,
    Status,
    Urgency,
)
from lianfang.people.models import Person

DELIVERERS = frozenset({Role.COMMUNITY_WORKER, Role.VOLUNTEER})


class LivelihoodError(Refused):
    pass


def _not_found() -> LivelihoodError:
    return LivelihoodError("not_found", "诉求不存在", "no such request")


def _text(value: str, field: str, zh: str, en: str, *, required: bool = True) -> str:
    value = (value or "").strip()
    max_length = Request._meta.get_field(field).max_length
    if (required and not value) or len(value) > max_length or bad_text(value):
        raise LivelihoodError(
            f"bad_{field}",
            f"{zh}须填写且不超过{max_length}字",
            f"{en} is required, at most {max_length} characters",
        )
    return value


def dues(edition: str, urgency: str, filed_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """When a request filed at ``filed_at`` must be accepted and delivered (the edition's minutes)."""
    rules = protocol.edition(edition).livelihood
    return (
        filed_at + dt.timedelta(minutes=rules.accept_minutes[urgency]),
        filed_at + dt.timedelta(minutes=rules.deliver_minutes[urgency]),
    )


@transaction.atomic
def request_file(
    *,
    actor: Actor | None,
    source: str,
    community_code: str,
    name: str,
    phone: str,
    address: str,
    kind: str,
    building: str = "",
    detail: str = "",
    package_code: str = "",
    urgency: str = "",
    at: dt.datetime | None = None,
) -> tuple[Request, str]:
    """File a request; returns it and the resident's confirmation code (shown once, stored hashed).

    A worker files for their community (``request.file``), the hotline operator for any community
    of their jurisdiction (``request.hotline``), a resident (``actor`` None, ``source`` resident)
    after the one-time code of their phone. Urgency is at least the kind's (dialysis, labour and
    emergencies are urgent); a food request names a package of the catalogue."""
    if source not in Source.values:
        raise LivelihoodError("bad_source", "来源无效", "unknown source")
    if actor is not None:
        require(actor, "request.hotline" if source == Source.HOTLINE else "request.file")
    community = Division.objects.filter(code=(community_code or "").strip(), level=Level.COMMUNITY).first()
    if community is None or (actor is not None and not actor.covers(community.code)):
        raise LivelihoodError(
            "unknown_community",
            "社区（村）不存在或不在您的辖区内",
            "unknown community, or outside your jurisdiction",
        )
    if kind not in Kind.values:
        raise LivelihoodError("bad_kind", "诉求类别无效", "unknown kind of request")
    floor = KIND_URGENCY[kind]
    urgency = urgency or floor
    if urgency not in Urgency.values or URGENCY_RANK[urgency] > URGENCY_RANK[floor]:
        urgency = floor  # never below what the kind needs
    package = None
    if kind == Kind.FOOD:
        package = Package.objects.filter(code=(package_code or "").strip(), active=True).first()
        if package is None:
            raise LivelihoodError("bad_package", "请从目录中选择套餐", "choose a package from the catalogue")
    name = _text(name, "name", "姓名", "the name")
    phone = _text(phone, "phone", "手机号", "the phone number")
    if not phone.isdigit() or len(phone) != 11:
        raise LivelihoodError("bad_phone", "手机号须为11位数字", "the phone number must be 11 digits")
    address = _text(address, "address", "住址", "the address")
    building = _text(building, "building", "楼栋", "the building", required=False)
    detail = _text(detail, "detail", "需求说明", "the description", required=kind != Kind.FOOD)
    at = at or timezone.now()
    edition = in_force().code
    accept_due, deliver_due = dues(edition, urgency, at)
    code = f"{secrets.randbelow(10**6):06d}"
    person = Person.objects.filter(phone=phone, community=community, registered=True).first()
    request = Request.objects.create(
        community=community,
        town_code=codes.town(community.code),
        county_code=codes.county(community.code),
        person=person,
        name=name,
        phone=phone,
        address=address,
        building=building,
        kind=kind,
        urgency=urgency,
        package=package,
        detail=detail,
        source=source,
        edition=edition,
        filed_at=at,
        accept_due_at=accept_due,
        deliver_due_at=deliver_due,
        filed_by=getattr(actor, "user", None),
        confirmation_hash=make_password(code),
    )
    audit_record(
        actor=actor,
        action="request_file",
        object_type="livelihood_request",
        object_id=str(request.pk),
        detail={"source": source, "kind": kind, "urgency": urgency},
        area=community.code,
    )
    return request, code


def _locked(actor: Actor | None, pk: int, verb: str) -> Request:
    require(actor, verb)
    qs = Request.objects.all() if actor is None else Request.objects.visible_to(actor)
    request = qs.select_for_update().filter(pk=pk).first()
    if request is None:
        raise _not_found()
    return request


def _state(request: Request, *allowed: str) -> None:
    if request.status not in allowed:
        raise LivelihoodError(
            "bad_state",
            f"该诉求当前状态为「{request.get_status_display()}」，不能执行此操作",
            f"the request is {request.status}: this step does not apply",
        )


@transaction.atomic
def request_accept(*, actor: Actor | None, pk: int, at: dt.datetime | None = None) -> Request:
    request = _locked(actor, pk, "request.handle")
    _state(request, Status.NEW)
    request.status, request.accepted_at = Status.ACCEPTED, at or timezone.now()
    request.accepted_by = getattr(actor, "user", None)
    request.save(update_fields=["status", "accepted_at", "accepted_by"])
    audit_record(actor=actor, action="request_accept", object_type="livelihood_request", object_id=str(pk))
    return request


@transaction.atomic
def request_assign(*, actor: Actor | None, pk: int, username: str, at: dt.datetime | None = None) -> Request:
    """Assign an accepted request to a community worker or volunteer whose jurisdiction covers it."""
    request = _locked(actor, pk, "request.handle")
    _state(request, Status.NEW, Status.ACCEPTED, Status.ASSIGNED)
    user = User.objects.filter(username=(username or "").strip(), is_active=True, role__in=DELIVERERS).first()
    if user is None or not Actor.for_user(user).covers(request.community_id):
        raise LivelihoodError(
            "bad_assignee",
            "请指派本社区的网格员或志愿者",
            "assign a community worker or volunteer of the request's community",
        )
    now = at or timezone.now()
    if request.status == Status.NEW:  # assigning accepts it
        request.accepted_at, request.accepted_by = now, getattr(actor, "user", None)
    request.status, request.assigned_to, request.assigned_at = Status.ASSIGNED, user, now
    request.save(update_fields=["status", "assigned_to", "assigned_at", "accepted_at", "accepted_by"])
    audit_record(
        actor=actor,
        action="request_assign",
        object_type="livelihood_request",
        object_id=str(pk),
        detail={"to": user.username},
    )
    return request


@transaction.atomic
def request_deliver(
    *, actor: Actor | None, pk: int, code: str = "", photo_name: str = "", at: dt.datetime | None = None
) -> Request:
    """Delivered at the door, with proof: the resident's confirmation code, or a photo (stored by
    the caller, named here). A volunteer delivers only what is assigned to them."""
    request = _locked(actor, pk, "request.deliver")
    _state(request, Status.ASSIGNED)
    if (
        actor is not None
        and actor.role == Role.VOLUNTEER
        and request.assigned_to_id != getattr(actor.user, "pk", None)
    ):
        raise _not_found()
    if code:
        if not check_password(code.strip(), request.confirmation_hash):
            raise LivelihoodError("bad_code", "确认码不正确", "the confirmation code is wrong")
        proof = "code"
    elif photo_name:
        proof = f"photo:{photo_name}"
    else:
        raise LivelihoodError(
            "no_proof", "请输入居民的确认码或上传送达照片", "enter the resident's code or upload a photo"
        )
    request.status, request.delivered_at, request.proof = Status.DELIVERED, at or timezone.now(), proof
    request.delivered_by = getattr(actor, "user", None)
    request.save(update_fields=["status", "delivered_at", "proof", "delivered_by"])
    audit_record(actor=actor, action="request_deliver", object_type="livelihood_request", object_id=str(pk))
    return request


@transaction.atomic
def request_close(*, actor: Actor | None, pk: int, at: dt.datetime | None = None) -> Request:
    request = _locked(actor, pk, "request.handle")
    _state(request, Status.DELIVERED)
    request.status, request.closed_at = Status.CLOSED, at or timezone.now()
    request.save(update_fields=["status", "closed_at"])
    audit_record(actor=actor, action="request_close", object_type="livelihood_request", object_id=str(pk))
    return request


@transaction.atomic
def requests_escalate(*, at: dt.datetime | None = None) -> list[Request]:
    """Escalate, once, every urgent request still not accepted past its minutes: it pages the
    community's head (an audit event the command board and the overdue list read) and is marked."""
    at = at or timezone.now()
    late = list(
        Request.objects.select_for_update(skip_locked=True).filter(
            urgency=Urgency.URGENT, status=Status.NEW, accept_due_at__lt=at, escalated_at__isnull=True
        )
    )
    for request in late:
        request.escalated_at = at
        request.save(update_fields=["escalated_at"])
        audit_record(
            actor=None,
            action="request_escalate",
            object_type="livelihood_request",
            object_id=str(request.pk),
            detail={"kind": request.kind, "community": request.community_id},
            area=request.community_id,
        )
    return late


def requests_escalate_timed(now: dt.datetime) -> str:
    """The worker's timed run of :func:`requests_escalate` (``Plugin.periodic``)."""
    return f"escalated {len(requests_escalate(at=now))}"
