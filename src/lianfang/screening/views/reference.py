"""The sites and labs of the actor's jurisdiction, and the uploads of their lists."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.imports.models import ImportJob
from lianfang.screening import selectors, services
from lianfang.screening.views.common import _upload_job


def _reference_page(request, *, kind: str, editors, visible):
    """The list of ``visible(actor=…)`` on ``lianfang/screening/<kind>.html``; a POST by an actor
    ``editors(actor)`` allows uploads a new list as an import job of ``kind``."""
    actor = actor_of(request)
    may_upload = editors(actor)
    error = ""
    if request.method == "POST":
        if not may_upload:
            raise PermissionDenied
        job, error = _upload_job(request, actor, kind)
        if job is not None:
            return redirect("web:import_job", pk=job.pk)
    page = Paginator(visible(actor=actor), 100).get_page(request.GET.get("page"))
    jobs = ImportJob.objects.visible_to(actor).filter(kind=kind)[:10] if may_upload else []
    return render(
        request,
        f"lianfang/screening/{kind}.html",
        {"page": page, "may_upload": may_upload, "error": error, "jobs": jobs, "kind": kind},
        status=400 if error else 200,
    )


@scoped
@require_http_methods(["GET", "POST"])
def sites(request):
    return _reference_page(
        request,
        kind="sites",
        editors=lambda actor: actor.may("sites.import"),
        visible=selectors.sites_visible,
    )


@scoped
@require_http_methods(["GET", "POST"])
def labs(request):
    return _reference_page(
        request, kind="labs", editors=services.labs_writable, visible=selectors.labs_visible
    )
