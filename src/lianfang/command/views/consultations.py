"""Consultations: the list (and opening one), one consultation with its agenda, attendance and decisions."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.command.models import Consultation, Post
from lianfang.command.services.consultations import (
    attendance_set,
    consultation_open,
    decision_directive,
    decision_problem,
)
from lianfang.command.services.posts import PostRefused
from lianfang.command.views.posts import _int
from lianfang.core.errors import Refused


@scoped
@require_http_methods(["GET", "POST"])
def consultations(request):
    actor = actor_of(request)
    if not actor.may("directive.read"):
        raise Http404
    error = ""
    if request.method == "POST":
        if not actor.may("command.organise"):
            raise Http404
        try:
            c = consultation_open(
                actor=actor, post_id=_int(request.POST.get("post")), title=request.POST.get("title", "")
            )
            return redirect("command:consultation", pk=c.pk)
        except PostRefused as exc:
            if exc.code == "not_found":
                raise Http404 from None
            error = f"{exc.zh} / {exc.en}"
        except Refused as exc:
            error = f"{exc.zh} / {exc.en}"
    audit_record(actor=actor, action="view", object_type="consultations")
    return render(
        request,
        "lianfang/command/consultations.html",
        {
            "items": Consultation.objects.visible_to(actor).select_related("post")[:100],
            "own_posts": [p for p in Post.objects.visible_to(actor) if actor.covers(p.division_code)],
            "may_open": actor.may("command.organise"),
            "error": error,
        },
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET", "POST"])
def consultation(request, pk: int):
    actor = actor_of(request)
    found = Consultation.objects.visible_to(actor).select_related("post").filter(pk=pk).first()
    if found is None or not actor.may("directive.read"):
        raise Http404
    error = ""
    if request.method == "POST":
        p = request.POST
        try:
            op = p.get("op")
            if op == "attendance":
                attendance_set(
                    actor=actor,
                    consultation_id=pk,
                    post_id=_int(p.get("post")),
                    present=p.get("present") == "1",
                )
            elif op == "problem":
                decision_problem(
                    actor=actor,
                    consultation_id=pk,
                    title=p.get("title", ""),
                    division_code=p.get("division_code", "").strip(),
                    responsible=p.get("responsible", ""),
                )
            elif op == "directive":
                decision_directive(
                    actor=actor,
                    consultation_id=pk,
                    to_post_id=_int(p.get("to_post")),
                    title=p.get("title", ""),
                )
            else:
                raise PostRefused("bad_op", "未知的操作", "unknown operation")
            return redirect("command:consultation", pk=pk)
        except PostRefused as exc:
            if exc.code == "not_found":
                raise Http404 from None
            error = f"{exc.zh} / {exc.en}"
        except Refused as exc:
            error = f"{exc.zh} / {exc.en}"
    audit_record(actor=actor, action="view", object_type="consultation", object_id=str(pk))
    below = Post.objects.filter(division_code__startswith=found.post.division_code)
    return render(
        request,
        "lianfang/command/consultation.html",
        {
            "c": found,
            "attendance": found.attendance.select_related("post"),
            "problems": found.problems.all(),
            "directives": found.directives.select_related("to_post"),
            "below": below,
            "may_act": actor.may("command.organise") and actor.covers(found.post.division_code),
            "error": error,
        },
        status=400 if error else 200,
    )
