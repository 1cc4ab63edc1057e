"""Cases, a case, its trace task (clocks red when late), contacts with their plans, and the
positive findings awaiting the CDC's confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.core.errors import Refused
from lianfang.core.times import parse_time
from lianfang.imports.models import ImportJob
from lianfang.imports.services import import_job_create, upload_error
from lianfang.tracing import selectors, services
from lianfang.tracing.models import Category, Classification, FoundIn, Placement, Severity

CASE_FIELDS = (
    "case_code",
    "id_type",
    "id_number",
    "name",
    "phone",
    "classification",
    "onset_date",
    "first_positive_sampled_at",
    "reported_at",
    "found_in",
    "severity",
    "community_code",
)
CONTACT_FIELDS = (
    "category",
    "id_type",
    "id_number",
    "name",
    "via_id_number",
    "phone",
    "community_code",
    "place",
    "last_exposure_at",
    "registered_at",
)


def _upload(request, actor, kind: str):
    """The posted file as a background import job of ``kind`` (a redirect to its page), or an error."""
    upload = request.FILES.get("file")
    error = upload_error(upload)
    if error:
        return None, error
    job = import_job_create(actor=actor, uploaded_file=upload, kind=kind)
    return redirect("web:import_job", pk=job.pk), ""


def _refusal(exc: Refused) -> str:
    return f"{exc.zh} / {exc.en}"


def _choices() -> dict:
    return {
        "classifications": Classification.choices,
        "found_in_choices": FoundIn.choices,
        "severities": Severity.choices,
        "categories": Category.choices,
        "placements": Placement.choices,
    }


def _form_times(data: dict, names: tuple[str, ...]) -> dict:
    """``datetime-local`` values (``2022-03-21T10:00``) as the contract's times (Asia/Shanghai)."""
    return {k: (v.replace("T", " ") if k in names else v) for k, v in data.items()}


@scoped
@require_http_methods(["GET", "POST"])
def case_list(request):
    actor = actor_of(request)
    may_import, may_create = actor.may("cases.import"), actor.may("cases.create")
    error, form = "", {}
    if request.method == "POST":
        if request.POST.get("action") == "upload":
            if not may_import:
                raise PermissionDenied
            response, error = _upload(request, actor, "cases")
            if response is not None:
                return response
        else:
            if not may_create:
                raise PermissionDenied
            form = {k: request.POST.get(k, "").strip() for k in CASE_FIELDS}
            try:
                case = services.case_create(
                    actor=actor, fields=_form_times(form, ("first_positive_sampled_at", "reported_at"))
                )
            except Refused as exc:
                error = _refusal(exc)
            else:
                messages.success(
                    request, _("病例 %(code)s 已登记，流调任务已开启。") % {"code": case.case_code}
                )
                return redirect("tracing:case", case_code=case.case_code)
    q = request.GET.get("q", "")
    page = Paginator(selectors.cases_visible(actor=actor, q=q), 50).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [
        {
            "case": c,
            "late": c.trace_task.is_late(now) if hasattr(c, "trace_task") else {},
            **selectors.shown(c, actor),
        }
        for c in page.object_list
    ]
    audit_record(
        actor=actor,
        action="search" if q else "view",
        object_type="cases",
        detail={"q": q[:100], "count": len(rows), "masked": not actor.sees_personal_data},
    )
    jobs = ImportJob.objects.visible_to(actor).filter(kind="cases")[:10] if may_import else []
    return render(
        request,
        "lianfang/tracing/cases.html",
        {
            "page": page,
            "rows": rows,
            "q": q,
            "may_import": may_import,
            "may_create": may_create,
            "error": error,
            "form": form,
            "jobs": jobs,
            **_choices(),
        },
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET", "POST"])
def case_detail(request, case_code: str):
    actor = actor_of(request)
    case = selectors.case_get(actor=actor, case_code=case_code)
    if case is None:
        raise Http404
    may_place = actor.may("case.place")
    error = ""
    if request.method == "POST":
        if not may_place:
            raise PermissionDenied
        try:
            services.case_place(
                actor=actor,
                case=case,
                placement=request.POST.get("placement", ""),
                reason=request.POST.get("reason", ""),
            )
        except Refused as exc:
            error = _refusal(exc)
        else:
            messages.success(request, _("收治去向已确定。"))
            return redirect("tracing:case", case_code=case.case_code)
    audit_record(actor=actor, action="view", object_type="case", object_id=case.case_code)
    return render(
        request,
        "lianfang/tracing/case.html",
        {
            "case": case,
            "p": selectors.shown(case, actor),
            "conversions": case.conversions.all(),
            "contacts": selectors.with_plans(selectors.contacts_visible(actor=actor, case=case), actor),
            "may_place": may_place,
            "error": error,
            **_choices(),
        },
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET", "POST"])
def task_detail(request, case_code: str):
    actor = actor_of(request)
    task = selectors.task_get(actor=actor, case_code=case_code)
    if task is None:
        raise Http404
    may_update, may_add = actor.may("trace.update"), actor.may("contacts.import")
    error, form = "", {}
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "contact":
                if not may_add:
                    raise PermissionDenied
                form = {k: request.POST.get(k, "").strip() for k in CONTACT_FIELDS}
                services.contact_add(
                    actor=actor,
                    case=task.case,
                    fields=_form_times(form, ("last_exposure_at", "registered_at")),
                )
                messages.success(request, _("接触者已登记。"))
            else:
                if not may_update:
                    raise PermissionDenied
                isolated = request.POST.get("exposure_to", "").strip()
                exposure_to = parse_time(isolated.replace("T", " ")) if isolated else None
                if isolated and exposure_to is None:
                    raise services.TracingError(
                        "bad_time", "隔离时间无效", "the isolation time is not a time"
                    )
                services.trace_task_update(
                    actor=actor,
                    task=task,
                    team=request.POST.get("team"),
                    places=request.POST.get("places"),
                    core_done=bool(request.POST.get("core_done")),
                    report_done=bool(request.POST.get("report_done")),
                    exposure_to=exposure_to,
                )
                messages.success(request, _("流调任务已更新。"))
        except Refused as exc:
            error = _refusal(exc)
        else:
            return redirect("tracing:task", case_code=task.case.case_code)
    audit_record(actor=actor, action="view", object_type="trace_task", object_id=task.case.case_code)
    return render(
        request,
        "lianfang/tracing/task.html",
        {
            "task": task,
            "case": task.case,
            "p": selectors.shown(task.case, actor),
            "late": task.is_late(timezone.now()),
            "contacts": selectors.with_plans(selectors.contacts_visible(actor=actor, case=task.case), actor),
            "may_update": may_update,
            "may_add": may_add,
            "error": error,
            "form": form,
            **_choices(),
        },
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET", "POST"])
def contact_list(request):
    actor = actor_of(request)
    may_import = actor.may("contacts.import")
    error = ""
    if request.method == "POST":
        if not may_import:
            raise PermissionDenied
        response, error = _upload(request, actor, "contacts")
        if response is not None:
            return response
    page = Paginator(selectors.contacts_visible(actor=actor), 50).get_page(request.GET.get("page"))
    rows = selectors.with_plans(page.object_list, actor)
    audit_record(
        actor=actor,
        action="view",
        object_type="contacts",
        detail={"count": len(rows), "masked": not actor.sees_personal_data},
    )
    jobs = ImportJob.objects.visible_to(actor).filter(kind="contacts")[:10] if may_import else []
    return render(
        request,
        "lianfang/tracing/contacts.html",
        {"page": page, "rows": rows, "may_import": may_import, "error": error, "jobs": jobs},
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET", "POST"])
def finding_list(request):
    """Positive single re-checks awaiting the CDC: one action makes each a case."""
    actor = actor_of(request)
    may_confirm = actor.may("case.confirm")
    error = ""
    if request.method == "POST":
        if not may_confirm:
            raise PermissionDenied
        try:
            case = services.case_from_finding(
                actor=actor,
                finding_id=int(request.POST.get("finding", "0") or 0),
                case_code=request.POST.get("case_code", "").strip(),
                classification=request.POST.get("classification", ""),
                severity=request.POST.get("severity", ""),
            )
        except ValueError:
            raise Http404 from None
        except Refused as exc:
            error = _refusal(exc)
        else:
            messages.success(request, _("已确认为病例 %(code)s，流调任务已开启。") % {"code": case.case_code})
            return redirect("tracing:task", case_code=case.case_code)
    findings = list(services.findings_awaiting(actor)[:200])
    rows = [
        {"f": f, **selectors.shown(f.person, actor), "suggested": f"{f.round.code}-{f.pk}"} for f in findings
    ]
    audit_record(actor=actor, action="view", object_type="positive_findings", detail={"count": len(rows)})
    return render(
        request,
        "lianfang/tracing/findings.html",
        {"rows": rows, "may_confirm": may_confirm, "error": error, **_choices()},
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET"])
def chains(request):
    """Transmission chains (case → contact → case) as an ECharts graph."""
    actor = actor_of(request)
    graph = selectors.chain_graph(actor=actor)
    audit_record(actor=actor, action="view", object_type="chains", detail={"nodes": len(graph["nodes"])})
    categories = [
        {"key": "confirmed", "name": _("确诊")},
        {"key": "asymptomatic", "name": _("无症状")},
        *({"key": value, "name": str(label)} for value, label in Category.choices),
    ]
    return render(
        request,
        "lianfang/tracing/chains.html",
        {"graph": {**graph, "categories": categories}, "truncated": graph["truncated"]},
    )
