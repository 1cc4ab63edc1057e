"""The rounds: the list and the form that opens one, a round's page, its alert banner and the
acknowledgement of an alert, closing it, and the samples / results uploads."""

from __future__ import annotations

import datetime as dt
import re

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from lianfang.accounts.scoping import Actor, actor_of, scoped
from lianfang.core import codes
from lianfang.edition.services import in_force
from lianfang.geo.models import Division, Level
from lianfang.screening import selectors
from lianfang.screening.models import PoolPolicy, Round, TubeState
from lianfang.screening.services import (
    NotPermitted,
    ScreeningError,
    alert_acknowledge,
    round_close,
    round_open,
)
from lianfang.screening.views.common import (
    HALF_HOUR,
    _chart_ms,
    _chart_text,
    _coverage_chart,
    _cumulative_points,
    _form_time,
    _local_input,
    _or_404,
    _populated,
    _round_or_404,
    _upload_job,
)

_SPLIT = re.compile(r"[\s,，;；、]+")


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
    try:
        starts_at = _form_time(form["starts_at"], zh="开始时间", en="start")
        deadline_at = _form_time(form["deadline_at"], zh="完成时限", en="deadline")
        rnd = round_open(
            actor=actor,
            code=form["code"],
            name=form["name"],
            scope=scope,
            pool_policy=form["pool_policy"],
            starts_at=starts_at,
            deadline_at=deadline_at,
        )
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except ScreeningError as exc:
        return None, form, exc
    return rnd, form, None


@scoped
@require_http_methods(["GET", "POST"])
def round_list(request):
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
            "round_hours": in_force().screening.round_hours,
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
    # A county (town) user sees their towns (communities), not one bar of their own.
    rows, empty = _populated(overview["counties"])
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
        "coverage": _coverage_chart(rnd, rows),
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
            "rows": rows,
            "empty": empty,
            "level": _level_label(rows or empty),
            "turnaround": turnaround,
            "target_hours": rnd.protocol.screening.result_target_hours,
            "sites": sites,
            "pools": pools,
            "abnormal_pools": sum(1 for p in pools if p["tube"].state == TubeState.ABNORMAL),
            "alerts": _signable(selectors.alerts_open(rnd=rnd, actor=actor), actor),
            "may_close": actor.may("round.close") and rnd.is_open and all(actor.covers(c) for c in rnd.scope),
            "uploads": _uploads_for(actor),
            "scope": [(c, names.get(c, c)) for c in rnd.scope],
            "area": [(c, names.get(c, c)) for c in area],
            "remaining_hours": remaining,
            "chart": chart,
        },
    )


def _level_label(rows: list[dict]) -> str:
    """The level of the coverage rows, for the headings ("乡镇街道")."""
    if not rows:
        return str(Level.COUNTY.label)
    return str(Level(codes.level(rows[0]["code"])).label)


def _signable(alerts: list, actor: Actor) -> list:
    """Mark the alerts the actor may sign off (``a.may_ack``): their role may, and the pool's site
    is theirs (a county that sees an alert for a member who lives there does not sign it)."""
    may = actor.may("alert.acknowledge")
    for a in alerts:
        a.may_ack = may and a.tube.site_id is not None and actor.covers(a.tube.site.community_id)
    return alerts


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
            "alerts": _signable(selectors.alerts_open(rnd=rnd, actor=actor), actor),
        },
    )


@scoped
@require_POST
def alert_ack(request, code: str, pk: int):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    alert = _or_404(selectors.alert_get(rnd=rnd, actor=actor, pk=pk))
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


@scoped
@require_POST
def round_upload(request, code: str):
    """samples.csv / results.csv for the round: a background import job, then its progress page."""
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    kind = request.POST.get("kind", "")
    if kind not in dict(_uploads_for(actor)):
        raise PermissionDenied
    job, error = _upload_job(request, actor, kind)
    if error:
        messages.error(request, error)
        return redirect("screening:round", code=rnd.code)
    return redirect("web:import_job", pk=job.pk)
