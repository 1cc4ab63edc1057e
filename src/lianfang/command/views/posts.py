"""Posts and their working groups, and directives between posts."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.command.models import GroupKind, MemberRole, Membership, Post, WorkingGroup
from lianfang.command.selectors.problems import directive_is_red, directives_visible
from lianfang.command.services.posts import (
    PostRefused,
    directive_send,
    directive_step,
    group_create,
    group_merge,
    member_set,
    post_create,
)
from lianfang.core.errors import Refused


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@scoped
@require_http_methods(["GET", "POST"])
def posts(request):
    actor = actor_of(request)
    if not actor.may("directive.read"):
        raise Http404
    error = ""
    if request.method == "POST":
        if not actor.may("command.organise"):
            raise Http404
        p = request.POST
        try:
            op = p.get("op")
            if op == "post":
                post_create(
                    actor=actor, name=p.get("name", ""), division_code=p.get("division_code", "").strip()
                )
            elif op == "group":
                group_create(
                    actor=actor, post_id=_int(p.get("post")), name=p.get("name", ""), kind=p.get("kind", "")
                )
            elif op == "member":
                member_set(
                    actor=actor,
                    group_id=_int(p.get("group")),
                    username=p.get("username", "").strip(),
                    role=p.get("role", ""),
                )
            elif op == "merge":
                group_merge(actor=actor, group_id=_int(p.get("group")), into_id=_int(p.get("into")))
            else:
                raise PostRefused("bad_op", "未知的操作", "unknown operation")
            return redirect("command:posts")
        except PostRefused as exc:
            if exc.code == "not_found":
                raise Http404 from None
            error = f"{exc.zh} / {exc.en}"
        except Refused as exc:
            error = f"{exc.zh} / {exc.en}"
    current = Membership.objects.filter(left_at=None).select_related("user")
    groups = WorkingGroup.objects.prefetch_related(
        Prefetch("memberships", queryset=current, to_attr="current")
    )
    items = Post.objects.visible_to(actor).prefetch_related(Prefetch("groups", queryset=groups))
    audit_record(actor=actor, action="view", object_type="posts")
    return render(
        request,
        "lianfang/command/posts.html",
        {
            "posts": items,
            "may_organise": actor.may("command.organise"),
            "kinds": GroupKind.choices,
            "roles": MemberRole.choices,
            "error": error,
            "codes": actor.codes,
        },
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET", "POST"])
def directives(request):
    actor = actor_of(request)
    if not actor.may("directive.read"):
        raise Http404
    error = ""
    if request.method == "POST":
        if not actor.may("directive.send"):
            raise Http404
        try:
            directive_send(
                actor=actor,
                from_post_id=_int(request.POST.get("from_post")),
                to_post_id=_int(request.POST.get("to_post")),
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
            )
            return redirect("command:directives")
        except PostRefused as exc:
            if exc.code == "not_found":
                raise Http404 from None
            error = f"{exc.zh} / {exc.en}"
        except Refused as exc:
            error = f"{exc.zh} / {exc.en}"
    now = timezone.now()
    rows = [
        (d, directive_is_red(d, now), actor.may("directive.ack") and actor.covers(d.to_post.division_code))
        for d in directives_visible(actor=actor)[:200]
    ]
    audit_record(actor=actor, action="view", object_type="directives")
    return render(
        request,
        "lianfang/command/directives.html",
        {
            "rows": rows,
            "may_send": actor.may("directive.send"),
            "own_posts": [p for p in Post.objects.visible_to(actor) if actor.covers(p.division_code)],
            "posts": Post.objects.visible_to(actor),
            "error": error,
        },
        status=400 if error else 200,
    )


@scoped
@require_POST
def directive_act(request, pk: int):
    actor = actor_of(request)
    try:
        directive_step(
            actor=actor,
            directive_id=pk,
            step=request.POST.get("step", ""),
            report=request.POST.get("report", ""),
        )
    except PostRefused as exc:
        if exc.code == "not_found":
            raise Http404 from None
        request.method = "GET"
        response = directives.__wrapped__(request)
        response.status_code = 400
        return response
    except Refused:
        raise Http404 from None
    return redirect("command:directives")
