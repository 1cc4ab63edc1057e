"""A round's re-check tasks, and registering the re-check (or re-sample) tube of one."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.screening import selectors
from lianfang.screening.services import NotPermitted, ScreeningError, recheck_sample_register
from lianfang.screening.views.common import _form_time, _local_input, _or_404, _round_or_404, _task_view

TASK_PAGE = 100
TASK_FILTERS = ("open", "overdue", "all")


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@scoped
def task_list(request, code: str):
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
    task = _or_404(selectors.task_get(rnd=rnd, actor=actor, pk=pk))
    barcode = request.POST.get("barcode", "").strip()
    text = request.POST.get("sampled_at", "").strip()
    error = None
    try:
        sampled_at = _form_time(text, zh="采样时间", en="sampling time") or timezone.now()
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
