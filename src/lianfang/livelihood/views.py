"""The livelihood pages: the request board (triage by urgency, batches per building), filing by
a community worker or the 12345 operator, a request's page with its steps, the package
catalogue, the QR codes of the resident page, and the resident page itself (no login)."""

from __future__ import annotations

import io

import segno
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from lianfang.accounts.masking import mask_address, mask_phone
from lianfang.accounts.ratelimit import RateLimited, spend
from lianfang.accounts.scoping import actor_of, client_ip, public, scoped
from lianfang.accounts.services import audit_record
from lianfang.core.errors import Refused
from lianfang.geo.models import Division, Level
from lianfang.livelihood import selectors
from lianfang.livelihood.models import Kind, Package, Request, Source, Status, Urgency
from lianfang.livelihood.services import (
    code_check,
    code_send,
    request_accept,
    request_assign,
    request_close,
    request_deliver,
    request_file,
    requests_escalate,
)
from lianfang.livelihood.services.resident import _limits

RESIDENT_SALT = "lianfang.livelihood.resident"
SESSION_KEY = "lv_resident"


def _form_context(actor, form: dict, hotline: bool) -> dict:
    communities = list(Division.objects.inside(actor).filter(level=Level.COMMUNITY).order_by("code")[:500])
    return {
        "form": form,
        "hotline": hotline,
        "kinds": Kind.choices,
        "urgencies": Urgency.choices,
        "packages": list(Package.objects.filter(active=True)),
        "communities": communities,
    }


@scoped
@require_safe
def board(request):
    actor = actor_of(request)
    if not actor.may("request.read"):
        raise PermissionDenied
    requests_escalate()  # also run by `lianfang livelihood escalate` every minute
    now = timezone.now()
    status = request.GET.get("status", "open")
    if status != "open" and status not in Status.values:
        status = "open"
    kind = request.GET.get("kind", "")
    if kind not in Kind.values:
        kind = ""
    rows = selectors.board(actor=actor, status=status, kind=kind)
    kinds, urgencies = dict(Kind.choices), dict(Urgency.choices)
    statuses, sources = dict(Status.choices), dict(Source.choices)
    return render(
        request,
        "lianfang/livelihood/board.html",
        {
            "rows": [
                {
                    "r": r,
                    "late": r.status == Status.NEW and r.accept_due_at < now,
                    "kind": kinds[r.kind],
                    "urgency": urgencies[r.urgency],
                    "status": statuses[r.status],
                    "source": sources[r.source],
                }
                for r in rows
            ],
            "counts": selectors.board_counts(actor=actor, now=now),
            "batches": selectors.batches(actor=actor),
            "status": status,
            "kind": kind,
            "statuses": Status.choices,
            "kinds": Kind.choices,
            "may_file": actor.may("request.file"),
            "may_hotline": actor.may("request.hotline"),
        },
    )


def _file_view(request, *, hotline: bool):
    actor = actor_of(request)
    if not actor.may("request.hotline" if hotline else "request.file"):
        raise PermissionDenied
    keys = (
        "community_code",
        "building",
        "name",
        "phone",
        "address",
        "kind",
        "urgency",
        "package_code",
        "detail",
    )
    form = (
        {k: request.POST.get(k, "").strip() for k in keys}
        if request.method == "POST"
        else dict.fromkeys(keys, "")
    )
    error = None
    if request.method == "POST":
        try:
            filed, code = request_file(
                actor=actor, source=Source.HOTLINE if hotline else Source.WORKER, **form
            )
        except Refused as exc:
            error = exc
        else:
            messages.success(
                request,
                _("诉求已登记（编号 %(pk)s）。居民确认码：%(code)s（送达时核对）")
                % {"pk": filed.pk, "code": code},
            )
            return redirect("livelihood:request", pk=filed.pk)
    context = _form_context(actor, form, hotline) | {"error": error}
    return render(request, "lianfang/livelihood/file.html", context, status=400 if error else 200)


@scoped
@require_http_methods(["GET", "POST"])
def request_new(request):
    return _file_view(request, hotline=False)


@scoped
@require_http_methods(["GET", "POST"])
def hotline(request):
    return _file_view(request, hotline=True)


@scoped
@require_safe
def request_detail(request, pk: int):
    actor = actor_of(request)
    r = selectors.request_get(actor=actor, pk=pk)
    if r is None:
        raise Http404
    full = actor.sees_personal_data or (
        r.assigned_to_id and r.assigned_to_id == getattr(actor.user, "pk", None)
    )
    audit_record(
        actor=actor,
        action="view",
        object_type="livelihood_request",
        object_id=str(r.pk),
        detail={"masked": not full},
    )
    deliverers = []
    if actor.may("request.handle") and r.status in (Status.NEW, Status.ACCEPTED, Status.ASSIGNED):
        from lianfang.accounts.models import User

        deliverers = [
            u
            for u in User.objects.filter(is_active=True, role__in=("community_worker", "volunteer")).order_by(
                "username"
            )[:200]
            if _covers(u, r.community_id)
        ]
    return render(
        request,
        "lianfang/livelihood/request.html",
        {
            "r": r,
            "phone": r.phone if full else mask_phone(r.phone),
            "address": r.address if full else mask_address(r.address),
            "now": timezone.now(),
            "may_handle": actor.may("request.handle"),
            "may_deliver": actor.may("request.deliver")
            and (actor.role != "volunteer" or r.assigned_to_id == getattr(actor.user, "pk", None)),
            "deliverers": deliverers,
        },
    )


def _covers(user, code: str) -> bool:
    from lianfang.accounts.scoping import Actor

    return Actor.for_user(user).covers(code)


def _step(request, pk: int, run, ok: str):
    actor = actor_of(request)
    if selectors.request_get(actor=actor, pk=pk) is None:
        raise Http404
    try:
        run(actor)
    except Refused as exc:
        if exc.code == "not_found":
            raise Http404 from None
        if exc.code == "not_permitted":
            raise PermissionDenied from None
        messages.error(request, f"{exc.zh} / {exc.en}")
    else:
        messages.success(request, ok)
    return redirect("livelihood:request", pk=pk)


@scoped
@require_POST
def request_accept_view(request, pk: int):
    return _step(request, pk, lambda a: request_accept(actor=a, pk=pk), _("已受理"))


@scoped
@require_POST
def request_assign_view(request, pk: int):
    username = request.POST.get("username", "")
    return _step(request, pk, lambda a: request_assign(actor=a, pk=pk, username=username), _("已派单"))


@scoped
@require_POST
def request_deliver_view(request, pk: int):
    code = request.POST.get("code", "")
    photo = request.FILES.get("photo")
    photo_name = ""
    if photo is not None and not code:
        photo_name = _store_photo(pk, photo)
        if not photo_name:
            messages.error(
                request,
                _("照片须为 JPEG 或 PNG，且不超过 5 MB / the photo must be a JPEG or PNG of at most 5 MB"),
            )
            return redirect("livelihood:request", pk=pk)
    return _step(
        request, pk, lambda a: request_deliver(actor=a, pk=pk, code=code, photo_name=photo_name), _("已送达")
    )


def _store_photo(pk: int, photo) -> str:
    """Keep a delivery photo under the data directory; "" when it is not a small JPEG or PNG."""
    from django.conf import settings

    head = photo.read(8)
    photo.seek(0)
    if photo.size > 5 * 1024 * 1024 or not (head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG")):
        return ""
    folder = settings.DATA_DIR / "livelihood"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "png" if head.startswith(b"\x89PNG") else "jpg"
    name = f"{pk}-{timezone.now():%Y%m%d%H%M%S}.{suffix}"
    with open(folder / name, "wb") as f:
        for chunk in photo.chunks():
            f.write(chunk)
    return name


@scoped
@require_POST
def request_close_view(request, pk: int):
    return _step(request, pk, lambda a: request_close(actor=a, pk=pk), _("已办结"))


@scoped
@require_http_methods(["GET", "POST"])
def packages(request):
    actor = actor_of(request)
    may_manage = actor.may("packages.manage")
    error = None
    if request.method == "POST":
        if not (may_manage and _city_wide(actor)):
            raise PermissionDenied  # the catalogue is the city's shop: a county may not change it
        code, name = request.POST.get("code", "").strip(), request.POST.get("name", "").strip()
        contents = request.POST.get("contents", "").strip()
        if not code or len(code) > 32 or not name or len(name) > 100 or len(contents) > 300:
            error = (
                _("编号（≤32字）和名称（≤100字）必填，内容不超过300字"),
                "code (≤32) and name (≤100) are required; contents ≤300",
            )
        else:
            Package.objects.update_or_create(
                code=code, defaults={"name": name, "contents": contents, "active": True}
            )
            audit_record(actor=actor, action="package_save", object_type="package", object_id=code)
            return redirect("livelihood:packages")
    return render(
        request,
        "lianfang/livelihood/packages.html",
        {"packages": Package.objects.all(), "may_manage": may_manage and _city_wide(actor), "error": error},
        status=400 if error else 200,
    )


def _city_wide(actor) -> bool:
    cities = list(Division.objects.filter(level=Level.CITY).values_list("code", flat=True))
    return bool(cities) and all(actor.covers(c) for c in cities)


def resident_token(community_code: str, building: str = "") -> str:
    """The signed, unguessable part of a resident page's address: one per community or building,
    the same every time (it is printed as a QR code and posted at the door)."""
    return signing.Signer(salt=RESIDENT_SALT).sign_object({"c": community_code, "b": building}, compress=True)


@scoped
@require_safe
def qr(request, division_code: str):
    """The printable QR code of a community's (or, with ?building=, a building's) resident page."""
    actor = actor_of(request)
    if not actor.may("request.file"):
        raise PermissionDenied
    community = Division.objects.filter(code=division_code, level=Level.COMMUNITY).first()
    if community is None or not actor.covers(community.code):
        raise Http404
    building = request.GET.get("building", "").strip()[:64]
    url = request.build_absolute_uri(
        reverse("livelihood:resident", args=[resident_token(community.code, building)])
    )
    svg = io.BytesIO()
    segno.make(url, error="m").save(svg, kind="svg", scale=6, xmldecl=False, svgns=True)
    return render(
        request,
        "lianfang/livelihood/qr.html",
        {"community": community, "building": building, "url": url, "svg": svg.getvalue().decode()},
    )


def _resident_place(token: str) -> tuple[str, str]:
    try:
        data = signing.Signer(salt=RESIDENT_SALT).unsign_object(token)
    except signing.BadSignature:
        raise Http404 from None
    if not Division.objects.filter(code=data.get("c", ""), level=Level.COMMUNITY).exists():
        raise Http404
    return data["c"], data.get("b", "")


@public
@require_http_methods(["GET", "POST"])
def resident(request, token: str):
    """The resident page: phone → one-time code → the request form and the phone's own requests."""
    community_code, building = _resident_place(token)
    ip = client_ip(request)
    session = request.session.get(SESSION_KEY)
    verified = bool(session and session.get("token") == token)
    step, error, phone, confirmation = "phone", None, request.POST.get("phone", "").strip(), None
    status = 200
    try:
        if request.method == "POST":
            action = request.POST.get("action", "")
            if action == "send":
                code_send(community_code=community_code, phone=phone, ip=ip)
                step = "code"
            elif action == "verify":
                if code_check(
                    community_code=community_code, phone=phone, code=request.POST.get("code", ""), ip=ip
                ):
                    request.session[SESSION_KEY] = {"token": token, "phone": phone}
                    request.session.cycle_key()
                    return redirect("livelihood:resident", token=token)
                step, error, status = "code", (_("验证码不正确或已失效"), "the code is wrong or expired"), 400
            elif action == "file" and verified:
                spend("lv-file-phone", session["phone"], _limits()["files_per_phone_minute"])
                filed, confirmation = request_file(
                    actor=None,
                    source=Source.RESIDENT,
                    community_code=community_code,
                    building=building,
                    phone=session["phone"],
                    **{
                        k: request.POST.get(k, "")
                        for k in ("name", "address", "kind", "detail", "package_code")
                    },
                )
    except RateLimited as exc:
        error, status = (exc.zh, exc.en), 429
        step = "code" if request.POST.get("action") == "verify" else "phone"
    except Refused as exc:
        error, status = (exc.zh, exc.en), 400
    if verified:
        step = "form"
    mine = (
        list(
            Request.objects.filter(community_id=community_code, phone=session["phone"]).order_by("-filed_at")[
                :20
            ]
        )
        if verified
        else []
    )
    community = Division.objects.get(code=community_code)
    return render(
        request,
        "lianfang/livelihood/resident.html",
        {
            "community": community,
            "building": building,
            "step": step,
            "phone": phone,
            "error": error,
            "confirmation": confirmation,
            "mine": mine,
            "kinds": Kind.choices,
            "packages": list(Package.objects.filter(active=True)),
        },
        status=status,
    )
