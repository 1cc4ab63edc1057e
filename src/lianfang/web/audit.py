"""The audit log as a record an inspection reads: who (name, login, role) did what to whom (the
person's name and page, masked as the auditor's role sees people everywhere else), the details as
fields, filters by user, person, action and date, and an export (CSV/XLSX, inert cells). Reading
and exporting the log are audited themselves. How each app's events read (object types, detail
keys) is declared in its plugin (``Plugin.audit_objects`` / ``audit_fields``)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from django.views.decorators.http import require_GET

from lianfang.accounts.audit_text import detail_fields
from lianfang.accounts.models import AuditAction, AuditEvent, User
from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.core import plugins
from lianfang.core.downloads import table_response
from lianfang.people.models import Person
from lianfang.people.presenters import person_public

PAGE_SIZE = 100
# An export holds at most this many events: an inspection narrows by date or user beyond it.
EXPORT_LIMIT = 100_000
_CHUNK = 5000  # ids per IN list (SQLite's variable limit)
_PERSON_PK = re.compile(r"^\d{1,12}$")


def _parse_day(raw: str, name: str, errors: list[str]) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors.append(
            _("“%(name)s”须为 年-月-日 格式的日期（如 2022-03-26），收到的是“%(raw)s”。")
            % {"name": name, "raw": raw[:40]}
        )
        return None


def _filters(request) -> tuple[dict, list[str]]:
    """The filters of the form (as typed) and what is wrong with them."""
    get = request.GET
    values = {
        "user": get.get("user", "").strip()[:150],
        "person": get.get("person", "").strip()[:32],
        "action": get.get("action", "").strip(),
        "since": get.get("since", "").strip()[:10],
        "until": get.get("until", "").strip()[:10],
    }
    errors: list[str] = []
    if values["action"] and values["action"] not in AuditAction.values:
        errors.append(_("没有这种操作：“%(action)s”。请从列表中选择。") % {"action": values["action"][:40]})
    since = _parse_day(values["since"], _("起始日期"), errors)
    until = _parse_day(values["until"], _("截止日期"), errors)
    if since and until and since > until:
        errors.append(_("起始日期晚于截止日期，请对调。"))
    return values, errors


def _events(actor, values: dict):
    """The actor's visible events narrowed by the filters (already checked)."""
    events = AuditEvent.objects.visible_to(actor).select_related("user").order_by("-at", "-id")
    if values["action"]:
        events = events.filter(action=values["action"])
    if values["user"]:
        who = values["user"]
        events = events.filter(Q(username=who) | Q(user__display_name=who))
    if values["person"]:
        found = Person.objects.visible_to(actor)
        if _PERSON_PK.match(values["person"]) and len(values["person"]) < 15:
            found = found.filter(pk=int(values["person"]))
        else:
            found = found.filter(id_number=values["person"].upper())
        pks = [str(pk) for pk in found.values_list("pk", flat=True)[:50]]
        events = events.filter(object_type="person", object_id__in=pks)
    tz = timezone.get_current_timezone()
    if values["since"]:
        start = dt.datetime.combine(dt.date.fromisoformat(values["since"]), dt.time(), tzinfo=tz)
        events = events.filter(at__gte=start)
    if values["until"]:
        end = dt.datetime.combine(
            dt.date.fromisoformat(values["until"]) + dt.timedelta(days=1), dt.time(), tzinfo=tz
        )
        events = events.filter(at__lt=end)
    return events


def _people(actor, events) -> dict[str, dict]:
    """The people the events name, as the actor may see them (masked per role), by object_id."""
    ids = sorted({int(e.object_id) for e in events if e.object_type == "person" and e.object_id.isdigit()})
    shown: dict[str, dict] = {}
    for i in range(0, len(ids), _CHUNK):
        people = (
            Person.objects.visible_to(actor).filter(pk__in=ids[i : i + _CHUNK]).select_related("community")
        )
        shown.update({str(p.pk): person_public(p, actor) for p in people})
    return shown


def _users(events) -> dict[str, User]:
    names = sorted({e.object_id for e in events if e.object_type == "user" and e.object_id})
    found: dict[str, User] = {}
    for i in range(0, len(names), _CHUNK):
        found.update({u.username: u for u in User.objects.filter(username__in=names[i : i + _CHUNK])})
    return found


def _who(event, roles: dict[str, str]) -> dict:
    user = event.user
    if user is not None:
        role = roles.get(user.role, user.role)
        return {"name": user.display_name or user.username, "username": user.username, "role": role}
    if event.username == "cli":
        return {"name": _("服务器命令行"), "username": "cli", "role": ""}
    return {"name": event.username or "—", "username": event.username, "role": ""}


def _rows(actor, events) -> list[dict]:
    """Each event as the page and the export show it."""
    # Labels made text once per page, not once per row (they are lazy translations).
    objects = {kind: (str(obj.label), obj.url_name) for kind, obj in plugins.audit_objects().items()}
    labels = {key: str(label) for key, label in plugins.audit_fields().items()}
    actions = {value: str(label) for value, label in AuditAction.choices}
    roles = {value: str(label) for value, label in Role.choices}
    who: dict = {}  # one entry per user (an export lists the same few users many times)
    people = _people(actor, events)
    users = _users(events)
    rows = []
    for e in events:
        if (e.user_id or e.username) not in who:
            who[e.user_id or e.username] = _who(e, roles)
        label, url_name = objects.get(e.object_type, (e.object_type, None))
        target = {"label": label, "text": e.object_id, "url": ""}
        if e.object_type == "person" and e.object_id:
            p = people.get(e.object_id)
            if p:
                target["text"] = f"{p['name']}（{p['id_number']}）"
                target["person"] = e.object_id
            else:  # not (or no longer) in the auditor's jurisdiction: the record only
                target["text"] = f"#{e.object_id}"
        elif e.object_type == "user" and e.object_id in users:
            u = users[e.object_id]
            target["text"] = f"{u.display_name or u.username}（{u.username}）"
        if url_name and e.object_id and (e.object_type != "person" or "person" in target):
            try:
                target["url"] = reverse(url_name, args=[e.object_id])
            except NoReverseMatch:
                pass
        rows.append(
            {
                "at": timezone.localtime(e.at),
                "who": who[e.user_id or e.username],
                "api": bool(e.token_id),
                "ip": e.ip or "",
                "action": actions.get(e.action, e.action),
                "target": target,
                "fields": detail_fields(e.detail, labels),
            }
        )
    return rows


def _used(values: dict) -> dict:
    return {k: v for k, v in values.items() if v}


@scoped
@require_GET
def audit_log(request):
    actor = actor_of(request)
    if not actor.may("audit.read"):
        raise Http404
    values, errors = _filters(request)
    page = None
    rows: list[dict] = []
    if not errors:
        page = Paginator(_events(actor, values), PAGE_SIZE).get_page(request.GET.get("page"))
        rows = _rows(actor, list(page.object_list))
        audit_record(
            actor=actor,
            action="view",
            object_type="audit_log",
            detail={"filters": _used(values), "page": page.number, "count": len(rows)},
        )
    query = urlencode(_used(values))
    return render(
        request,
        "lianfang/audit.html",
        {
            "page": page,
            "rows": rows,
            "f": values,
            "errors": errors,
            "query": query,
            "actions": AuditAction.choices,
            "export_limit": EXPORT_LIMIT,
        },
        status=400 if errors else 200,
    )


EXPORT_HEADER = (
    N_("时间"),
    N_("用户名"),
    N_("姓名"),
    N_("角色"),
    N_("经 API"),
    N_("来源地址"),
    N_("操作"),
    N_("对象类型"),
    N_("对象"),
    N_("详情"),
)


@scoped
@require_GET
def audit_export(request, fmt: str):
    """The filtered log as CSV or XLSX for an inspection (cells inert: never a live formula)."""
    actor = actor_of(request)
    if not actor.may("audit.read") or fmt not in ("csv", "xlsx"):
        raise Http404
    values, errors = _filters(request)
    if not errors:
        events = _events(actor, values)
        total = events.count()
        if total > EXPORT_LIMIT:
            errors.append(
                _(
                    "符合条件的记录有 %(total)s 条，超过一次导出的上限 %(limit)s 条。请缩小日期范围或按用户筛选后再导出。"
                )
                % {"total": f"{total:,}", "limit": f"{EXPORT_LIMIT:,}"}
            )
    if errors:
        return render(
            request,
            "lianfang/audit.html",
            {
                "page": None,
                "rows": [],
                "f": values,
                "errors": errors,
                "query": "",
                "actions": AuditAction.choices,
            },
            status=400,
        )
    rows = _rows(actor, list(events))
    audit_record(
        actor=actor,
        action="export",
        object_type="audit_log",
        detail={"filters": _used(values), "format": fmt, "rows": len(rows)},
    )
    table = [
        [
            f"{r['at']:%Y-%m-%d %H:%M:%S}",
            r["who"]["username"],
            r["who"]["name"],
            r["who"]["role"],
            _("是") if r["api"] else "",
            r["ip"],
            str(r["action"]),
            r["target"]["label"],
            r["target"]["text"],
            "；".join(f"{label}: {value}" for label, value in r["fields"]),
        ]
        for r in rows
    ]
    filename = f"audit-{timezone.localdate():%Y%m%d}.{fmt}"
    return table_response(
        header=[_(h) for h in EXPORT_HEADER], rows=table, fmt=fmt, filename=filename, sheet=_("审计日志")
    )
