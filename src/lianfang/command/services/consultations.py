"""Consultations (会商): the agenda assembled from the day's overdue problems and numbers, decisions
recorded as problems or directives (with owners and deadlines) that name the consultation, and
attendance by post."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.command.models import Attendance, Consultation, Directive, Post, Problem, ProblemState
from lianfang.command.services.posts import PostRefused, _authority, _post, directive_send
from lianfang.command.services.problems import problem_file
from lianfang.core.times import format_time


def agenda_for(post: Post, now: dt.datetime) -> dict:
    """The day's overdue problems and open numbers under the post, unacknowledged directives, and
    the hand-offs past their clock in the post's division by kind (the overdue board's counts; no
    person named, so the agenda may be read by every attendee)."""
    from collections import Counter

    from lianfang.command.selectors.overdue import kind_label
    from lianfang.core import codes
    from lianfang.core.plugins import providers

    loops = Counter(
        item.kind
        for stated in providers("overdue")
        for item in stated(None, now)
        if codes.inside(item.division_code or "", post.division_code)
    )
    under = Problem.objects.filter(division_code__startswith=post.division_code).open()
    overdue = under.filter(deadline_at__lt=now).order_by("deadline_at")[:50]
    late_directives = Directive.objects.filter(
        to_post__division_code__startswith=post.division_code, acknowledged_at=None, ack_due_at__lt=now
    )
    return {
        "at": format_time(now),
        "overdue_problems": [
            {"id": p.pk, "title": p.title, "place": p.division_code, "deadline": format_time(p.deadline_at)}
            for p in overdue
        ],
        "numbers": {
            "open_problems": under.count(),
            "awaiting_verification": under.filter(state=ProblemState.FIXED).count(),
            "overdue_problems": under.filter(deadline_at__lt=now).count(),
            "directives_unacknowledged": late_directives.count(),
        },
        "overdue_loops": [{"kind": k, "label": kind_label(k), "count": n} for k, n in loops.most_common()],
    }


@transaction.atomic
def consultation_open(*, actor: Actor | None, post_id: int, title: str) -> Consultation:
    require(actor, "command.organise")
    post = _post(actor, post_id)
    _authority(actor, post.division_code)
    title = (title or "").strip()
    if not title:
        raise PostRefused("missing_title", "请填写会商主题", "the consultation needs a title")
    now = timezone.now()
    consultation = Consultation.objects.create(
        post=post,
        title=title[:200],
        held_at=now,
        agenda=agenda_for(post, now),
        created_by=actor.user if actor else None,
    )
    audit_record(actor=actor, action="create", object_type="consultation", object_id=str(consultation.pk))
    return consultation


def _consultation(actor: Actor | None, pk) -> Consultation:
    qs = Consultation.objects.select_related("post")
    found = (qs if actor is None else qs.visible_to(actor)).filter(pk=pk).first()
    if found is None:
        raise PostRefused(
            "not_found",
            "会商不存在（或不在您的辖区内）",
            "no such consultation (or not in your jurisdiction)",
        )
    _authority(actor, found.post.division_code)
    return found


@transaction.atomic
def attendance_set(*, actor: Actor | None, consultation_id: int, post_id: int, present: bool) -> Attendance:
    require(actor, "command.organise")
    consultation = _consultation(actor, consultation_id)
    post = Post.objects.filter(pk=post_id, division_code__startswith=consultation.post.division_code).first()
    if post is None:
        raise PostRefused(
            "not_below", "参会单位须为本级或下级指挥部", "attendees are this post or posts below it"
        )
    row, _ = Attendance.objects.update_or_create(
        consultation=consultation, post=post, defaults={"present": present, "recorded_at": timezone.now()}
    )
    return row


@transaction.atomic
def decision_problem(
    *,
    actor: Actor | None,
    consultation_id: int,
    title: str,
    division_code: str,
    responsible: str,
    deadline_at=None,
) -> Problem:
    consultation = _consultation(actor, consultation_id)
    if not division_code.startswith(consultation.post.division_code):
        raise PostRefused(
            "not_below", "决定事项的属地须在本指挥部辖区内", "the decision's place must lie under this post"
        )
    problem = problem_file(
        actor=actor,
        title=title,
        division_code=division_code,
        responsible=responsible,
        source="command",
        deadline_at=deadline_at,
    )
    problem.consultation = consultation
    problem.save(update_fields=["consultation"])
    return problem


@transaction.atomic
def decision_directive(
    *, actor: Actor | None, consultation_id: int, to_post_id: int, title: str, body: str = ""
) -> Directive:
    consultation = _consultation(actor, consultation_id)
    directive = directive_send(
        actor=actor, from_post_id=consultation.post_id, to_post_id=to_post_id, title=title, body=body
    )
    directive.consultation = consultation
    directive.save(update_fields=["consultation"])
    return directive
