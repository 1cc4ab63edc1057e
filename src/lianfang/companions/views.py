"""The companions pages: upload a pings file (a background run with progress), the run, and the
review list a tracer confirms in bulk into contacts of category ``companion``."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.companions import selectors, services
from lianfang.companions.models import MatchStatus
from lianfang.core.errors import Refused
from lianfang.core.plugins import provider
from lianfang.core.summary import reason_text
from lianfang.imports.services import worker_running

PINGS_SUFFIXES = (".csv", ".txt", ".xlsx", ".parquet")
PAGE_SIZE = 100


def _allowed(actor) -> tuple[bool, bool]:
    may_run, may_confirm = actor.may("companions.run"), actor.may("companions.confirm")
    if not (may_run or may_confirm):
        raise Http404  # the pages are the tracers' (and the CDC's, the command office's)
    return may_run, may_confirm


def _refusal(exc: Refused) -> str:
    return f"{exc.zh} / {exc.en}"


@scoped
@require_http_methods(["GET", "POST"])
def runs(request):
    """Upload a pings file (Parquet or CSV), optionally naming cases; the user's recent runs."""
    actor = actor_of(request)
    may_run, _may_confirm = _allowed(actor)
    error, chosen = "", ""
    if request.method == "POST":
        if not may_run:
            raise Http404
        chosen = request.POST.get("cases", "").strip()
        upload = request.FILES.get("file")
        if upload is None:
            error = _("请选择信令文件（Parquet 或 CSV）。")
        elif not upload.name.lower().endswith(PINGS_SUFFIXES):
            error = _("不支持的文件格式：%(name)s。请上传 Parquet 或 CSV 文件。") % {"name": upload.name}
        elif upload.size > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
            error = _("文件过大（上限 %(mb)s MB）。") % {"mb": settings.IMPORT_MAX_UPLOAD_MB}
        else:
            codes = [c for c in chosen.replace("，", ",").replace(" ", ",").split(",") if c]
            try:
                run = services.companions_run_create(actor=actor, uploaded_file=upload, case_codes=codes)
            except Refused as exc:
                error = _refusal(exc)
            else:
                return redirect("companions:run", run_id=run.pk)
    cases = services.cases_for(actor)
    return render(
        request,
        "lianfang/companions/runs.html",
        {
            "may_run": may_run,
            "tracing": provider("cases_as_of") is not None,
            "error": error,
            "chosen": chosen,
            "cases": cases[:20],
            "case_count": len(cases),
            "runs": selectors.runs_visible(actor=actor)[:10],
        },
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET"])
def run_detail(request, run_id):
    """A run's progress (polled by htmx), its failure, or its counts and the way to its rows."""
    actor = actor_of(request)
    _allowed(actor)
    run = selectors.run_get(actor=actor, run_id=run_id)
    if run is None:
        raise Http404
    stalled = run.status == "queued" and not worker_running()
    template = (
        "lianfang/companions/_progress.html"
        if request.headers.get("HX-Request")
        else "lianfang/companions/run.html"
    )
    return render(request, template, {"run": run, "stalled": stalled})


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _ids(values) -> list[int]:
    return [int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 18]


@scoped
@require_http_methods(["GET", "POST"])
def review(request):
    """The rows to review, scoped; bulk confirm (checked rows, or every row shown) and dismiss."""
    actor = actor_of(request)
    _may_run, may_confirm = _allowed(actor)
    confirmable = may_confirm and services.confirm_available()
    query = request.GET if request.method == "GET" else request.POST
    status = query.get("status", MatchStatus.PENDING)
    if status not in MatchStatus.values and status != "all":
        status = MatchStatus.PENDING
    run_id = query.get("run", "").strip()
    if run_id and not _is_uuid(run_id):
        raise Http404  # no such run
    case_code = query.get("case", "").strip()[:32]
    filters = {k: v for k, v in (("run", run_id), ("status", status), ("case", case_code)) if v}
    if request.method == "POST":
        if not may_confirm:
            raise Http404
        action = request.POST.get("action", "")
        ids = _ids(request.POST.getlist("shown" if action == "confirm_all" else "row"))
        try:
            if action == "dismiss":
                n = services.companions_dismiss(actor=actor, ids=ids)
                messages.success(request, _("已排除 %(n)s 人。") % {"n": n})
            elif action in ("confirm", "confirm_all"):
                _confirmed(request, services.companions_confirm(actor=actor, ids=ids))
        except Refused as exc:
            messages.error(request, _refusal(exc))
        return redirect(f"{request.path}?{urlencode(filters)}")
    rows = selectors.matches_visible(
        actor=actor,
        run_id=run_id or None,
        status="" if status == "all" else status,
        case_code=case_code,
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = [{"m": m, **selectors.shown(m, actor)} for m in page.object_list]
    audit_record(
        actor=actor,
        action="view",
        object_type="companions",
        object_id=run_id[:64],
        detail={"count": len(shown), "masked": not actor.sees_personal_data, "case": case_code},
    )
    return render(
        request,
        "lianfang/companions/review.html",
        {
            "page": page,
            "rows": shown,
            "filters": filters,
            "status": status,
            "run_id": run_id,
            "case_code": case_code,
            "statuses": MatchStatus.choices,
            "may_confirm": may_confirm,
            "confirmable": confirmable,
            "pending": status == MatchStatus.PENDING,
        },
    )


def _confirmed(request, decided) -> None:
    if decided.confirmed or decided.duplicate:
        messages.success(
            request,
            _("已确认 %(n)s 人为时空伴随者（接触者）；其中 %(d)s 人此前已登记。")
            % {"n": decided.confirmed + decided.duplicate, "d": decided.duplicate},
        )
    for reason, count in sorted(decided.refused.items()):
        zh, en = REFUSALS.get(reason) or reason_text(reason)
        text = zh if (getattr(request, "LANGUAGE_CODE", "zh-hans") or "").startswith("zh") else en
        messages.error(request, _("%(n)s 人未确认：%(why)s") % {"n": count, "why": text})
    if not (decided.confirmed or decided.duplicate or decided.refused):
        messages.info(request, _("没有选择待确认的人员。"))


REFUSALS = {
    "not_yours": (
        "病例不在您的辖区内，由病例所在辖区确认",
        "the case is not in your jurisdiction: its own jurisdiction confirms it",
    ),
    "not_in_registry": (
        "底数中找不到此人（无证件号码或姓名），请在流调任务页手工登记",
        "not found in the registry (no ID number or name): register them by hand on the trace page",
    ),
}
