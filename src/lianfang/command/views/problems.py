"""The problem list's pages: the list and filing, one problem with its actions, its evidence."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.command.models import ProblemSource, ProblemState
from lianfang.command.selectors.problems import evidence_get, is_overdue, problem_get, problems_visible
from lianfang.command.services.problems import (
    ACTION_LABELS,
    EVIDENCE_MAX_BYTES,
    TRANSITIONS,
    ProblemRefused,
    evidence_add,
    evidence_bytes,
    problem_file,
    problem_transition,
)
from lianfang.core.errors import Refused
from lianfang.core.times import parse_time

MANUAL_SOURCES = [(s.value, s.label) for s in ProblemSource if s != ProblemSource.PLATFORM]


def _message(exc: Refused) -> str:
    return f"{exc.zh} / {exc.en}"


@scoped
@require_http_methods(["GET", "POST"])
def problem_list(request):
    actor = actor_of(request)
    if not actor.may("problem.read"):
        raise Http404
    error = ""
    if request.method == "POST":
        if not actor.may("problem.file"):
            raise Http404
        deadline = None
        text = request.POST.get("deadline", "").strip().replace("T", " ")
        try:
            if text:
                deadline = parse_time(text)
                if deadline is None:
                    raise ProblemRefused(
                        "bad_time", f"整改时限不是有效时间：{text}", f"the deadline is not a time: {text}"
                    )
            problem = problem_file(
                actor=actor,
                title=request.POST.get("title", ""),
                division_code=request.POST.get("division_code", "").strip(),
                responsible=request.POST.get("responsible", ""),
                detail=request.POST.get("detail", ""),
                source=request.POST.get("source", ProblemSource.INSPECTION),
                deadline_at=deadline,
            )
            return redirect("command:problem", pk=problem.pk)
        except Refused as exc:
            error = _message(exc)
    which = request.GET.get("state", "open")
    qs = problems_visible(actor=actor)
    qs = qs.open() if which == "open" else qs.filter(state=which) if which in ProblemState.values else qs
    now = timezone.now()
    rows = [(p, is_overdue(p, now)) for p in qs.order_by("deadline_at", "id")[:300]]
    audit_record(actor=actor, action="view", object_type="problem_list", object_id=which)
    return render(
        request,
        "lianfang/command/problem_list.html",
        {
            "rows": rows,
            "which": which,
            "states": ProblemState.choices,
            "may_file": actor.may("problem.file"),
            "sources": MANUAL_SOURCES,
            "error": error,
            "codes": actor.codes,
        },
        status=400 if error else 200,
    )


@scoped
@require_GET
def problem_detail(request, pk: int):
    actor = actor_of(request)
    problem = problem_get(actor=actor, pk=pk)
    if problem is None:
        raise Http404
    actions = [
        (name, ACTION_LABELS[name][0], rule.needs_reason)
        for name, rule in TRANSITIONS.items()
        if problem.state in rule.sources and actor.may(rule.verb) and actor.covers(problem.division_code)
    ]
    audit_record(actor=actor, action="view", object_type="problem", object_id=str(pk))
    return render(
        request,
        "lianfang/command/problem.html",
        {
            "problem": problem,
            "overdue": is_overdue(problem),
            "events": problem.events.select_related("user"),
            "evidence": problem.evidence.all(),
            "actions": actions,
            "may_add_evidence": actor.may("problem.evidence")
            and actor.covers(problem.division_code)
            and problem.state != ProblemState.CLOSED,
            "max_mb": EVIDENCE_MAX_BYTES // (1024 * 1024),
            "error": request.GET.get("error", "")[:300],
        },
    )


@scoped
@require_POST
def problem_act(request, pk: int):
    actor = actor_of(request)
    if problem_get(actor=actor, pk=pk) is None:
        raise Http404
    try:
        problem_transition(
            actor=actor,
            problem_id=pk,
            action=request.POST.get("action", ""),
            reason=request.POST.get("reason", ""),
        )
    except ProblemRefused as exc:
        if exc.code == "not_found":
            raise Http404 from None
        return _with_message(request, pk, exc, 400)
    except Refused as exc:
        return _with_message(request, pk, exc, 403)
    return redirect("command:problem", pk=pk)


def _with_message(request, pk: int, exc: Refused, status: int):
    request.GET = request.GET.copy()
    request.GET["error"] = _message(exc)
    request.method = "GET"
    response = problem_detail.__wrapped__(request, pk)
    response.status_code = status
    return response


@scoped
@require_POST
def problem_evidence(request, pk: int):
    actor = actor_of(request)
    if problem_get(actor=actor, pk=pk) is None:
        raise Http404
    upload = request.FILES.get("file")
    if upload is None:
        return _with_message(request, pk, ProblemRefused("missing_file", "请选择文件", "choose a file"), 400)
    if upload.size > EVIDENCE_MAX_BYTES:
        data = b"\x00" * (EVIDENCE_MAX_BYTES + 1)  # refused by size without reading it all
    else:
        data = upload.read()
    try:
        evidence_add(actor=actor, problem_id=pk, name=upload.name, data=data)
    except ProblemRefused as exc:
        if exc.code == "not_found":
            raise Http404 from None
        return _with_message(request, pk, exc, 400)
    except Refused as exc:
        return _with_message(request, pk, exc, 403)
    return redirect("command:problem", pk=pk)


@scoped
@require_GET
def evidence_download(request, pk: int):
    actor = actor_of(request)
    evidence = evidence_get(actor=actor, pk=pk)
    if evidence is None:
        raise Http404
    try:
        data = evidence_bytes(evidence)
    except (ProblemRefused, OSError):
        raise Http404 from None
    audit_record(actor=actor, action="view", object_type="evidence", object_id=str(pk))
    response = HttpResponse(data, content_type=evidence.content_type)
    response["Content-Disposition"] = f'inline; filename="evidence-{evidence.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
