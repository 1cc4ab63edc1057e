"""Reads of the problem list, each taking the actor."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.command.models import Evidence, Problem, ProblemState


def problems_visible(*, actor: Actor):
    """Problems of the actor's places and those escalated to them (deny by default)."""
    if not actor.may("problem.read"):
        return Problem.objects.none()
    return Problem.objects.visible_to(actor)


def problem_get(*, actor: Actor, pk: int) -> Problem | None:
    return problems_visible(actor=actor).filter(pk=pk).first()


def is_overdue(problem: Problem, now: dt.datetime | None = None) -> bool:
    """Shown red wherever it appears: open and past its deadline."""
    return problem.state != ProblemState.CLOSED and problem.deadline_at < (now or timezone.now())


def evidence_get(*, actor: Actor, pk: int) -> Evidence | None:
    """Evidence is served only to users who may see its problem."""
    return (
        Evidence.objects.filter(pk=pk, problem__in=problems_visible(actor=actor))
        .select_related("problem")
        .first()
    )


def act_now(actor: Actor, *, limit: int = 20) -> list[dict]:
    """What the user must act on now, before any statistics: their open problems and the
    directives to their posts not yet acknowledged — overdue (red) first, then by deadline
    (the home page's "act now", ``Plugin.home`` once the lead wires it)."""
    now = timezone.now()
    items = []
    for problem in problems_visible(actor=actor).open().order_by("deadline_at", "id")[: limit * 3]:
        if problem.state == ProblemState.FIXED:
            verb = "problem.verify"
        else:
            verb = "problem.rectify"
        if not actor.may(verb) or not actor.covers(problem.division_code):
            if not (problem.escalated_to and actor.covers(problem.escalated_to)):
                continue
        items.append(
            {
                "kind": "problem",
                "label": problem.title,
                "url": f"/problems/{problem.pk}/",
                "due_at": problem.deadline_at,
                "overdue": is_overdue(problem, now),
                "escalated": bool(problem.escalated_to),
            }
        )
    if actor.may("directive.ack"):
        for d in directives_visible(actor=actor).filter(acknowledged_at=None):
            if actor.covers(d.to_post.division_code):
                items.append(
                    {
                        "kind": "directive",
                        "label": d.title,
                        "url": "/directives/",
                        "due_at": d.ack_due_at,
                        "overdue": directive_is_red(d, now),
                        "escalated": False,
                    }
                )
    items.sort(key=lambda i: (not i["overdue"], i["due_at"]))
    return items[:limit]


def directives_visible(*, actor: Actor):
    from lianfang.command.models import Directive

    if not actor.may("directive.read"):
        return Directive.objects.none()
    return Directive.objects.visible_to(actor).select_related("from_post", "to_post")


def directive_is_red(directive, now: dt.datetime | None = None) -> bool:
    """Unacknowledged past the edition's time (stored with it as ``ack_due_at``)."""
    return directive.acknowledged_at is None and directive.ack_due_at < (now or timezone.now())
