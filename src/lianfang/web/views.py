"""Pages. Thin: read through selectors with the request's actor, render, audit personal data."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.core.paginator import Paginator
from django.db.models import Max, Sum
from django.db.models.functions import Substr
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from lianfang.accounts.masking import mask_query
from lianfang.accounts.scoping import actor_of, public, scoped
from lianfang.accounts.services import audit_record
from lianfang.core import codes, plugins
from lianfang.core.downloads import download_response, table_file
from lianfang.geo.models import Division, Level
from lianfang.imports.guide import reason_rows
from lianfang.imports.models import ImportJob
from lianfang.imports.services import import_job_create, upload_error, worker_running
from lianfang.people.models import CommunityStats, Person, Tag
from lianfang.people.presenters import PEOPLE_COLUMNS, people_rows, person_public
from lianfang.people.selectors import person_get, persons_search, search_kind

TAGS = [(t.value, t.label) for t in Tag]


# --- login -------------------------------------------------------------------------------------


@public
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request):
    """The login form. Throttling (django-axes, settings.AXES_*) and the audit of every attempt
    (accounts.signals) hang off ``authenticate``, so they hold for the back office's login too."""
    error = ""
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        user = authenticate(request, username=username, password=request.POST.get("password", ""))
        if user is None:
            error = _("用户名或密码错误。")  # a locked login is answered by login_locked_out instead
        else:
            login(request, user)
            target = request.POST.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = "/"
            return redirect(target)
    return render(
        request,
        "lianfang/login.html",
        {"error": error, "username": username, "next": request.GET.get("next", "")},
    )


def login_locked_out(request, response=None, credentials=None):
    """What django-axes answers a login refused for too many failures, on any login path."""
    error = _("登录失败次数过多，请 %(minutes)s 分钟后再试。") % {"minutes": settings.LOGIN_COOLOFF_MINUTES}
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return render(
        request,
        "lianfang/login.html",
        {"error": error, "username": str(username)[:150], "next": request.POST.get("next", "")},
        status=429,
    )


@public
@require_POST
def logout_view(request):
    logout(request)
    return redirect("web:login")


set_language = public(django_set_language)


# --- home and divisions -----------------------------------------------------------------------


def _rollup(stats, lvl: int | None) -> dict[str, dict]:
    """Sum the communities' precomputed counts (a CommunityStats queryset) up to the divisions at
    level ``lvl`` (None: one total, under ""): one GROUP BY in the database over at most the
    city's 2,573 rows, a row per division back (building 2,573 model rows to add them up in
    Python was most of the city's home and division pages)."""
    sums = {
        field: Sum(field)
        for field in ("registered", "unregistered", "households", *CommunityStats.TAG_FIELDS)
    }
    if lvl is None:
        rows = [{"division": "", **stats.aggregate(**sums)}]
    else:
        rows = (
            stats.annotate(division=Substr("community_id", 1, codes.LENGTH[lvl]))
            .values("division")
            .annotate(**sums)
            .order_by()
        )
    return {row.pop("division"): defaultdict(int, {k: v or 0 for k, v in row.items()}) for row in rows}


@scoped
def home(request):
    actor = actor_of(request)
    stats = CommunityStats.objects.visible_to(actor)
    totals = _rollup(stats, None)[""]
    # The level below the actor's widest jurisdiction: a city user sees counties, a county user towns.
    widest = min((len(c) for c in actor.codes), default=codes.LENGTH[codes.COMMUNITY])
    by_child = _rollup(stats, codes.LEVEL_OF_LENGTH[codes.child_length(widest)])
    names = dict(Division.objects.filter(code__in=list(by_child)).values_list("code", "name"))
    own = list(Division.objects.filter(code__in=actor.codes).order_by("code"))
    rows = [
        {"code": code, "name": names.get(code, code), **counts}
        for code, counts in sorted(by_child.items(), key=lambda kv: -kv[1]["registered"])
    ]
    refreshed = stats.aggregate(at=Max("refreshed_at"))["at"]
    return render(
        request,
        "lianfang/home.html",
        {
            "totals": totals,
            "rows": rows,
            "own": own,
            "tags": [(value, label, totals.get(value, 0)) for value, label in TAGS],
            "chart": {"names": [r["name"] for r in rows], "values": [r["registered"] for r in rows]},
            "refreshed": refreshed,
            "act_now": _act_now(actor),
        },
    )


def _act_now(actor) -> list[dict]:
    """The installed apps' "act now" sections (``Plugin.home``) that have something for this actor."""
    now = timezone.now()
    sections = []
    for section in plugins.home_sections():
        context = plugins.resolve(section.context)(actor=actor, now=now)
        if context is not None:
            sections.append({"template": section.template, **context})
    return sections


@scoped
def division(request, code: str | None = None):
    actor = actor_of(request)
    visible = Division.objects.visible_to(actor)
    if code is None:
        current = None
        children = list(visible.filter(code__in=actor.codes).order_by("code"))
    else:
        current = visible.filter(code=code).first()
        if current is None:
            raise Http404
        children = list(visible.filter(parent_id=code).order_by("code"))
    stats = CommunityStats.objects.visible_to(actor)
    if current is not None:
        stats = stats.within([current.code])
    rolled = {lvl: _rollup(stats, lvl) for lvl in {codes.level(c.code) for c in children}}
    for child in children:
        child.counts = rolled[codes.level(child.code)].get(child.code, {})
    breadcrumb = list(visible.filter(code__in=current.ancestor_codes).order_by("code")) if current else []
    people_page = None
    if current is not None and current.level == Level.COMMUNITY:
        people = (
            Person.objects.visible_to(actor)
            .filter(community_id=current.code)
            .select_related("community")
            .order_by("id_number")
        )
        page = Paginator(people, 50).get_page(request.GET.get("page"))
        people_page = page
        page.rows = [person_public(p, actor) for p in page.object_list]
        audit_record(
            actor=actor,
            action="view",
            object_type="community_people",
            object_id=current.code,
            detail={"page": page.number, "count": len(page.rows)},
        )
    return render(
        request,
        "lianfang/division.html",
        {
            "current": current,
            "children": children,
            "breadcrumb": breadcrumb,
            "people_page": people_page,
            "exportable": current is not None and current.level >= Level.TOWN,
        },
    )


@scoped
def division_export(request, code: str, fmt: str):
    """The registry of one town or community, masked per role, as CSV or XLSX (audited)."""
    actor = actor_of(request)
    current = Division.objects.inside(actor).filter(code=code, level__gte=Level.TOWN).first()
    if current is None or fmt not in ("csv", "xlsx"):
        raise Http404
    people = (
        Person.objects.visible_to(actor)
        .within([code])
        .filter(registered=True)
        .select_related("community")
        .order_by("community_id", "id_number")
    )
    body, count = table_file(
        header=PEOPLE_COLUMNS,
        rows=people_rows(people.iterator(chunk_size=5000), actor),
        fmt=fmt,
        sheet=current.name,
    )
    audit_record(
        actor=actor,
        action="export",
        object_type="division_people",
        object_id=code,
        detail={"format": fmt, "rows": count, "masked": not actor.sees_personal_data},
    )
    filename = f"registry-{code}-{timezone.localdate():%Y%m%d}.{fmt}"
    return download_response(body, fmt=fmt, filename=filename)


# --- people -----------------------------------------------------------------------------------


@scoped
def search(request):
    actor = actor_of(request)
    q = request.GET.get("q", "").strip()[:64]
    results = []
    status_round = ""
    if q:
        people = persons_search(actor=actor, q=q)
        results = [person_public(p, actor) for p in people]
        # Where each one lives (the town or street) and their status in the live round, when an
        # installed app states it (screening): two queries for the page, whatever its length.
        towns = dict(
            Division.objects.filter(code__in={p.town_code for p in people if p.town_code}).values_list(
                "code", "name"
            )
        )
        statuses = {}
        state = plugins.provider("round_status")
        if state is not None:
            status_round, statuses = state(actor=actor, people=people)
        for row, person in zip(results, people, strict=True):
            row["town_name"] = towns.get(person.town_code or "", "")
            row["round_status"] = statuses.get(person.pk)
        audit_record(
            actor=actor,
            action="search",
            object_type="person",
            detail={"q": mask_query(q, search_kind(q)), "hits": len(results)},
        )
    template = (
        "lianfang/partials/search_results.html"
        if request.headers.get("HX-Request")
        else "lianfang/search.html"
    )
    status_label = _("本轮状态（%(round)s）") % {"round": status_round} if status_round else ""
    return render(request, template, {"q": q, "results": results, "status_label": status_label})


@scoped
def person_detail(request, pk: int):
    actor = actor_of(request)
    person = person_get(actor=actor, pk=pk)
    if person is None:
        raise Http404
    audit_record(
        actor=actor,
        action="view",
        object_type="person",
        object_id=person.pk,
        detail={"masked": not actor.sees_personal_data},
    )
    panels = []
    for panel in plugins.person_panels():
        context = plugins.resolve(panel.context)(person=person, actor=actor)
        if context is not None:
            panels.append({"template": panel.template, **context})
    return render(
        request,
        "lianfang/person.html",
        {"p": person_public(person, actor), "person": person, "panels": panels},
    )


# --- imports ----------------------------------------------------------------------------------


@scoped
@require_http_methods(["GET", "POST"])
def person_import(request):
    actor = actor_of(request)
    if not actor.may("persons.import"):
        raise Http404
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        error = upload_error(upload)
        if not error:
            job = import_job_create(actor=actor, uploaded_file=upload)
            return redirect("web:import_job", pk=job.pk)
    jobs = ImportJob.objects.visible_to(actor)[:10]
    return render(
        request, "lianfang/import.html", {"error": error, "jobs": jobs}, status=400 if error else 200
    )


def _job(request, pk):
    job = ImportJob.objects.visible_to(actor_of(request)).filter(pk=pk).first()
    if job is None:
        raise Http404
    reasons = reason_rows(job.kind, job.summary.get("reasons") or {})
    return job, reasons


@scoped
def import_job(request, pk):
    job, reasons = _job(request, pk)
    template = (
        "lianfang/partials/import_progress.html"
        if request.headers.get("HX-Request")
        else "lianfang/import_job.html"
    )
    importer = plugins.importers().get(job.kind)
    page = importer.page if importer else None
    # A queued job nobody will run says so (the demo starts a worker; a server may not have one).
    stalled = job.status == "queued" and not worker_running()
    return render(request, template, {"job": job, "reasons": reasons, "page": page, "stalled": stalled})


@scoped
def import_job_rejects(request, pk):
    job, _reasons = _job(request, pk)
    if not job.rejects_path:
        raise Http404
    audit_record(actor=actor_of(request), action="export", object_type="import_rejects", object_id=job.pk)
    return FileResponse(
        open(job.rejects_path, "rb"),
        as_attachment=True,  # noqa: SIM115 - FileResponse closes it
        filename=f"rejects-{job.original_name}.csv",
        content_type="text/csv; charset=utf-8",
    )


@public
def api_docs(request):
    """/api/docs → the OpenAPI page of the current API version."""
    return redirect("/api/v1/docs")
