"""Pages of the mass-screening work: rounds, their coverage down to the untested list, abnormal
pools and their re-check tasks, sites and labs, uploads.

Thin, like :mod:`lianfang.web.views`: read through :mod:`lianfang.screening.selectors` with the
request's actor, write through :mod:`lianfang.screening.services`, render, and audit every access
to personal data (untested lists and their exports, pool members, task lists with names).
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lianfang.accounts.scoping import Actor, actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.analytics.screening import UNTESTED_COLUMNS
from lianfang.core.downloads import table_response
from lianfang.core.times import SHANGHAI, parse_time
from lianfang.edition.services import in_force
from lianfang.geo.models import Division, Level
from lianfang.imports.models import ImportJob
from lianfang.imports.services import UPLOAD_SUFFIXES, import_job_create
from lianfang.people.presenters import people_rows, person_public
from lianfang.screening import selectors
from lianfang.screening.models import PoolPolicy, Round, TaskStatus, TubeState
from lianfang.screening.services import (
    NotPermitted,
    ScreeningError,
    alert_acknowledge,
    recheck_sample_register,
    round_close,
    round_open,
)

# Who may do what is checked by the services (a refusal is a 403 here); the pages ask the same
# role sets only to show or hide their forms, and to refuse an upload before storing it (the
# import runs later, as a task, through the same services).

UNTESTED_PAGE = 50
TASK_PAGE = 100
TASK_FILTERS = ("open", "overdue", "all")
_SPLIT = re.compile(r"[\s,，;；、]+")


def _round_or_404(actor: Actor, code: str) -> Round:
    rnd = selectors.round_get(actor=actor, code=code)
    if rnd is None:
        raise Http404
    return rnd


def _local_input(value: dt.datetime) -> str:
    """A value for ``<input type="datetime-local">`` in Asia/Shanghai."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def _chart_ms(value: dt.datetime) -> int:
    """Milliseconds for an ECharts time axis shown with ``useUTC``: shifted to Shanghai wall time."""
    return int((value.astimezone(dt.UTC) + dt.timedelta(hours=8)).timestamp() * 1000)


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# --- rounds ------------------------------------------------------------------------------------


def _scope_choices(actor: Actor) -> list[Division]:
    """The actor's own divisions and the level below them: the scope check boxes of the open form."""
    if not actor.codes:
        return []
    own = list(Division.objects.filter(code__in=actor.codes).order_by("code"))
    children = list(Division.objects.filter(parent_id__in=actor.codes).order_by("code"))
    for d in children:
        d.is_child = True
    out: list[Division] = []
    for d in own:
        out.append(d)
        out.extend(c for c in children if c.parent_id == d.code)
    return out


def _open_form_defaults() -> dict:
    now = timezone.now()
    return {
        "code": "",
        "name": "",
        "scope": [],
        "scope_extra": "",
        "pool_policy": PoolPolicy.TEN,
        "starts_at": _local_input(now),
        "deadline_at": _local_input(now + dt.timedelta(hours=in_force().screening.round_hours)),
    }


def _round_open_submit(request, actor: Actor) -> tuple[Round | None, dict, ScreeningError | None]:
    post = request.POST
    form = {
        "code": post.get("code", "").strip(),
        "name": post.get("name", "").strip(),
        "scope": post.getlist("scope"),
        "scope_extra": post.get("scope_extra", "").strip(),
        "pool_policy": post.get("pool_policy", PoolPolicy.TEN),
        "starts_at": post.get("starts_at", "").strip(),
        "deadline_at": post.get("deadline_at", "").strip(),
    }
    scope = [c for c in form["scope"] if c] + [c for c in _SPLIT.split(form["scope_extra"]) if c]
    times = {}
    for key, zh, en in (
        ("starts_at", "开始时间", "start"),
        ("deadline_at", "完成时限", "deadline"),
    ):
        if not form[key]:
            times[key] = None
            continue
        times[key] = parse_time(form[key])
        if times[key] is None:
            return (
                None,
                form,
                ScreeningError(
                    "bad_time", f"{zh}格式无效：{form[key]}", f"the {en} is not a time: {form[key]}"
                ),
            )
    try:
        rnd = round_open(
            actor=actor,
            code=form["code"],
            name=form["name"],
            scope=scope,
            pool_policy=form["pool_policy"],
            starts_at=times["starts_at"],
            deadline_at=times["deadline_at"],
        )
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except ScreeningError as exc:
        return None, form, exc
    return rnd, form, None


@scoped
@require_http_methods(["GET", "POST"])
def rounds(request):
    actor = actor_of(request)
    may_open = actor.may("round.open")
    form, error = _open_form_defaults(), None
    if request.method == "POST":
        rnd, form, error = _round_open_submit(request, actor)
        if rnd is not None:
            messages.success(request, _("已开启筛查轮次 %(code)s。") % {"code": rnd.code})
            return redirect("screening:round", code=rnd.code)
    page = Paginator(selectors.rounds_visible(actor=actor), 20).get_page(request.GET.get("page"))
    listed = list(page.object_list)
    progress = _rounds_progress(listed, actor)
    alerts = selectors.alerts_open_counts(rounds=listed, actor=actor)
    names = selectors.division_names(code for r in listed for code in r.scope)
    rows = [
        {
            "round": r,
            "progress": progress[r.pk],
            "alerts": alerts.get(r.pk, 0),
            "scope": [(c, names.get(c, c)) for c in r.scope],
        }
        for r in listed
    ]
    return render(
        request,
        "lianfang/screening/rounds.html",
        {
            "page": page,
            "rows": rows,
            "may_open": may_open,
            "form": form,
            "error": error,
            "scope_choices": _scope_choices(actor) if may_open else [],
            "pool_policies": PoolPolicy.choices,
        },
        status=400 if error else 200,
    )


CLOSED_PROGRESS_SECONDS = 600


def _rounds_progress(listed: list[Round], actor: Actor) -> dict[int, dict]:
    """Open rounds counted live; a closed round takes no samples any more, so its count is cached
    for a few minutes (each count is a GROUP BY over the round's samples)."""
    out = selectors.rounds_progress(rounds=[r for r in listed if r.is_open], actor=actor)
    keys = {
        r.pk: f"lianfang:round-progress:{r.pk}:{r.closed_at.timestamp() if r.closed_at else ''}:{'|'.join(actor.codes)}"
        for r in listed
        if not r.is_open
    }
    cached = cache.get_many(list(keys.values())) if keys else {}
    missing = [r for r in listed if r.pk in keys and keys[r.pk] not in cached]
    fresh = selectors.rounds_progress(rounds=missing, actor=actor)
    if fresh:
        cache.set_many({keys[pk]: counts for pk, counts in fresh.items()}, CLOSED_PROGRESS_SECONDS)
    out.update(fresh)
    out.update({pk: cached[key] for pk, key in keys.items() if key in cached})
    return out


def _uploads_for(actor: Actor) -> list[tuple[str, str]]:
    kinds = []
    if actor.may("samples.import"):
        kinds.append(("samples", _("采样记录 samples.csv")))
    if actor.may("results.import"):
        kinds.append(("results", _("检测结果 results.csv")))
    return kinds


@scoped
def round_detail(request, code: str):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    now = timezone.now()
    overview = selectors.round_overview(rnd=rnd, actor=actor, now=now)
    counties = overview["counties"]
    progress = selectors.round_progress(rnd=rnd, actor=actor)
    turnaround = selectors.lab_turnaround(rnd=rnd, actor=actor)
    sites = selectors.site_throughput(rnd=rnd, actor=actor)
    pools = selectors.abnormal_pools(rnd=rnd, actor=actor)
    area = selectors.round_area(rnd=rnd, actor=actor)
    names = selectors.division_names([*rnd.scope, *area])
    chart = {
        "progress": {
            "sampled": _cumulative_points(progress["sampled"], now),
            "resulted": _cumulative_points(progress["resulted"], now),
            "tubes_per_hour": [[_chart_ms(t + HALF_HOUR), n] for t, n in progress["tubes_per_hour"]],
            "start": _chart_ms(rnd.starts_at),
            "deadline": _chart_ms(rnd.deadline_at),
            "now": _chart_ms(now),
        },
        "coverage": _coverage_chart(rnd, counties),
        "ages": {
            "labels": [label for label, _n in overview["tubes"]["ages"]],
            "values": [n for _label, n in overview["tubes"]["ages"]],
        },
        "text": _chart_text(),
    }
    remaining = (rnd.deadline_at - now).total_seconds() / 3600
    return render(
        request,
        "lianfang/screening/round.html",
        {
            "rnd": rnd,
            "o": overview,
            "counties": counties,
            "turnaround": turnaround,
            "target_hours": rnd.protocol.screening.result_target_hours,
            "sites": sites,
            "pools": pools,
            "abnormal_pools": sum(1 for p in pools if p["tube"].state == TubeState.ABNORMAL),
            "alerts": selectors.alerts_open(rnd=rnd, actor=actor),
            "may_ack": actor.may("alert.acknowledge"),
            "may_close": actor.may("round.open") and rnd.is_open,
            "uploads": _uploads_for(actor),
            "scope": [(c, names.get(c, c)) for c in rnd.scope],
            "area": [(c, names.get(c, c)) for c in area],
            "remaining_hours": remaining,
            "chart": chart,
        },
    )


HALF_HOUR = dt.timedelta(minutes=30)


def _cumulative_points(series: list[tuple[dt.datetime, int]], now: dt.datetime) -> list[list[int]]:
    """A cumulative per-hour series as a line: 0 at the first hour's start, each total at its hour's
    end (or now, for the running hour), held flat until now."""
    if not series:
        return []
    points = [[_chart_ms(series[0][0]), 0]]
    for start, total in series:
        points.append([_chart_ms(min(start + dt.timedelta(hours=1), max(now, start))), total])
    if now > series[-1][0] + dt.timedelta(hours=1):
        points.append([_chart_ms(now), series[-1][1]])
    return points


def _chart_text() -> dict:
    return {
        "sampled": _("累计采样人次"),
        "resulted": _("累计出结果人次"),
        "tubes": _("每小时出结果管数"),
        "deadline": _("完成时限"),
        "now": _("现在"),
        "coverage": _("覆盖率"),
        "sampled_of": _("已采/应检"),
        "pending": _("待出结果管"),
    }


def _coverage_chart(rnd: Round, rows: list[dict]) -> dict:
    return {
        "names": [r["name"] for r in rows],
        "values": [round(r["coverage"] * 100, 1) for r in rows],
        "sampled": [r["sampled"] for r in rows],
        "expected": [r["expected"] for r in rows],
        "urls": [reverse("screening:round_area", args=[rnd.code, r["code"]]) for r in rows],
    }


@scoped
def round_alerts(request, code: str):
    """The alert banner alone (htmx polls it on the round page)."""
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    return render(
        request,
        "lianfang/screening/_alerts.html",
        {
            "rnd": rnd,
            "alerts": selectors.alerts_open(rnd=rnd, actor=actor),
            "may_ack": actor.may("alert.acknowledge"),
        },
    )


@scoped
@require_POST
def alert_ack(request, code: str, pk: int):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    alert = selectors.alert_get(rnd=rnd, actor=actor, pk=pk)
    if alert is None:
        raise Http404
    try:
        alert_acknowledge(actor=actor, alert=alert)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    if request.headers.get("HX-Request"):
        return round_alerts(request, code)
    messages.success(request, _("已签收异常混管 %(barcode)s 的报告。") % {"barcode": alert.tube.barcode})
    return redirect("screening:round", code=rnd.code)


@scoped
@require_POST
def round_close_view(request, code: str):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    try:
        round_close(actor=actor, rnd=rnd)
    except NotPermitted as exc:
        raise PermissionDenied from exc
    messages.success(
        request, _("轮次 %(code)s 已结束，之后的采样记录将被拒绝（检测结果仍可上传）。") % {"code": rnd.code}
    )
    return redirect("screening:round", code=rnd.code)


# --- uploads -----------------------------------------------------------------------------------


def _upload_error(upload) -> str:
    if upload is None:
        return _("请选择要导入的文件（CSV、XLSX 或 Parquet）。")
    if not upload.name.lower().endswith(UPLOAD_SUFFIXES):
        return _("不支持的文件格式：%(name)s。请上传 CSV、XLSX 或 Parquet 文件。") % {"name": upload.name}
    if upload.size > settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024:
        return _("文件过大（上限 %(mb)s MB）。") % {"mb": settings.IMPORT_MAX_UPLOAD_MB}
    return ""


@scoped
@require_POST
def round_upload(request, code: str):
    """samples.csv / results.csv for the round: a background import job, then its progress page."""
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    kind = request.POST.get("kind", "")
    if kind not in dict(_uploads_for(actor)):
        raise PermissionDenied
    upload = request.FILES.get("file")
    error = _upload_error(upload)
    if error:
        messages.error(request, error)
        return redirect("screening:round", code=rnd.code)
    job = import_job_create(actor=actor, uploaded_file=upload, kind=kind)
    return redirect("web:import_job", pk=job.pk)


def _reference_page(request, *, kind: str, editors: str, template: str, items):
    actor = actor_of(request)
    may_upload = actor.may(editors)
    error = ""
    if request.method == "POST":
        if not may_upload:
            raise PermissionDenied
        upload = request.FILES.get("file")
        error = _upload_error(upload)
        if not error:
            job = import_job_create(actor=actor, uploaded_file=upload, kind=kind)
            return redirect("web:import_job", pk=job.pk)
    page = Paginator(items, 100).get_page(request.GET.get("page"))
    jobs = ImportJob.objects.visible_to(actor).filter(kind=kind)[:10] if may_upload else []
    return render(
        request,
        template,
        {"page": page, "may_upload": may_upload, "error": error, "jobs": jobs},
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET", "POST"])
def sites(request):
    actor = actor_of(request)
    return _reference_page(
        request,
        kind="sites",
        editors="sites.import",
        template="lianfang/screening/sites.html",
        items=selectors.sites_visible(actor=actor),
    )


@scoped
@require_http_methods(["GET", "POST"])
def labs(request):
    actor = actor_of(request)
    return _reference_page(
        request,
        kind="labs",
        editors="labs.import",
        template="lianfang/screening/labs.html",
        items=selectors.labs_visible(actor=actor),
    )


# --- areas and the untested list ---------------------------------------------------------------


def _breadcrumb(actor: Actor, division: Division) -> list[Division]:
    codes = [c for c in division.ancestor_codes if len(c) >= 6]
    return list(Division.objects.visible_to(actor).filter(code__in=codes).order_by("code"))


@scoped
def round_area(request, code: str, division_code: str):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    division = selectors.area_division(rnd=rnd, actor=actor, code=division_code)
    if division is None:
        raise Http404
    children, totals = selectors.coverage_breakdown(rnd=rnd, actor=actor, parent=division.code)
    untested_page = None
    home_only = request.GET.get("home") == "1"
    if division.level == Level.COMMUNITY:
        people = selectors.untested_people(rnd=rnd, actor=actor, code=division.code, home_only=home_only)
        untested_page = Paginator(people, UNTESTED_PAGE).get_page(request.GET.get("page"))
        untested_page.rows = [person_public(p, actor) for p in untested_page.object_list]
        audit_record(
            actor=actor,
            action="view",
            object_type="round_untested",
            object_id=division.code,
            detail={
                "round": rnd.code,
                "page": untested_page.number,
                "count": len(untested_page.rows),
                "masked": not actor.sees_personal_data,
            },
        )
    return render(
        request,
        "lianfang/screening/area.html",
        {
            "rnd": rnd,
            "division": division,
            "breadcrumb": _breadcrumb(actor, division),
            "children": children,
            "totals": totals,
            "untested_page": untested_page,
            "home_only": home_only,
            "exportable": division.level >= Level.TOWN,
            "chart": {"coverage": _coverage_chart(rnd, children), "text": _chart_text()}
            if children
            else None,
        },
    )


@scoped
def untested_export(request, code: str, division_code: str, fmt: str):
    """The untested list of a town or community, masked per role, as CSV (with BOM) or XLSX; audited."""
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    division = selectors.area_division(rnd=rnd, actor=actor, code=division_code)
    if division is None or division.level < Level.TOWN or fmt not in ("csv", "xlsx"):
        raise Http404
    people = selectors.untested_people(rnd=rnd, actor=actor, code=division.code)
    rows = people_rows(people.iterator(chunk_size=5000), actor)
    audit_record(
        actor=actor,
        action="export",
        object_type="round_untested",
        object_id=division.code,
        detail={"round": rnd.code, "format": fmt, "rows": len(rows), "masked": not actor.sees_personal_data},
    )
    filename = f"untested-{rnd.code}-{division.code}-{timezone.localdate():%Y%m%d}.{fmt}"
    return table_response(
        header=UNTESTED_COLUMNS, rows=rows, fmt=fmt, filename=filename, sheet=division.name or division.code
    )


# --- pools and re-check tasks ------------------------------------------------------------------


def _task_view(task, actor: Actor, now: dt.datetime, person=None) -> dict:
    return {
        "task": task,
        "p": person_public(person or task.person, actor) if (person or task.person_id) else None,
        "overdue": selectors.is_overdue(task, now),
        "may_register": task.status == TaskStatus.OPEN and actor.may("recheck.register"),
    }


@scoped
def pool(request, code: str, barcode: str):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    tube = selectors.pool_get(rnd=rnd, actor=actor, barcode=barcode)
    if tube is None:
        raise Http404
    detail = selectors.pool_detail(tube=tube, actor=actor)
    now = timezone.now()
    members = []
    for sample, person, task in detail["members"]:
        members.append(
            {
                "sample": sample,
                "p": person_public(person, actor),
                "t": _task_view(task, actor, now, person) if task else None,
            }
        )
    audit_record(
        actor=actor,
        action="view",
        object_type="pool_members",
        object_id=tube.barcode,
        detail={"round": rnd.code, "count": len(members), "masked": not actor.sees_personal_data},
    )
    return render(
        request,
        "lianfang/screening/pool.html",
        {
            "rnd": rnd,
            "tube": tube,
            "results": detail["results"],
            "members": members,
            "hidden": detail["hidden"],
            "abnormal": tube.state == TubeState.ABNORMAL,
            "now_input": _local_input(now),
        },
    )


@scoped
def tasks(request, code: str):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    which = request.GET.get("status", "open")
    if which not in TASK_FILTERS:
        which = "open"
    now = timezone.now()
    page = Paginator(selectors.recheck_tasks(rnd=rnd, actor=actor, which=which, now=now), TASK_PAGE).get_page(
        request.GET.get("page")
    )
    page.rows = [_task_view(t, actor, now) for t in page.object_list]
    audit_record(
        actor=actor,
        action="view",
        object_type="recheck_tasks",
        object_id=rnd.code,
        detail={
            "filter": which,
            "page": page.number,
            "count": len(page.rows),
            "masked": not actor.sees_personal_data,
        },
    )
    return render(
        request,
        "lianfang/screening/tasks.html",
        {"rnd": rnd, "page": page, "which": which, "now_input": _local_input(now)},
    )


@scoped
@require_POST
def task_sample(request, code: str, pk: int):
    """Register the single re-check (or re-sample) tube of one task."""
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    task = selectors.task_get(rnd=rnd, actor=actor, pk=pk)
    if task is None:
        raise Http404
    barcode = request.POST.get("barcode", "").strip()
    text = request.POST.get("sampled_at", "").strip()
    sampled_at = parse_time(text) if text else timezone.now()
    error = None
    if sampled_at is None:
        error = ScreeningError(
            "bad_time", f"采样时间格式无效：{text}", f"the sampling time is not a time: {text}"
        )
    else:
        try:
            task = recheck_sample_register(actor=actor, task=task, barcode=barcode, sampled_at=sampled_at)
        except NotPermitted as exc:
            raise PermissionDenied from exc
        except ScreeningError as exc:
            error = exc
    if request.headers.get("HX-Request"):
        task = selectors.task_get(rnd=rnd, actor=actor, pk=pk) or task
        return render(
            request,
            "lianfang/screening/_task_row.html",
            {
                "rnd": rnd,
                "row": _task_view(task, actor, timezone.now()),
                "error": error,
                "ok": error is None,
                "now_input": _local_input(timezone.now()),
                "next": _safe_next(request, ""),
            },
        )
    if error is not None:
        messages.error(request, f"{error.zh} / {error.en}")
    else:
        messages.success(request, _("已登记复核管 %(barcode)s。") % {"barcode": barcode})
    return redirect(_safe_next(request, reverse("screening:round_tasks", args=[rnd.code])))
