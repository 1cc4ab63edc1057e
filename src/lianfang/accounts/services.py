"""Writes of the accounts app: audit events, device tokens, users and their jurisdictions."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import connection, transaction
from django.utils import timezone

from lianfang.accounts.models import ApiToken, AuditEvent, Jurisdiction, User, hash_token
from lianfang.accounts.scoping import Actor, client_ip
from lianfang.core import codes as codes_
from lianfang.core.db import loaded

TOKEN_PREFIX = "lf_"
_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _event(
    actor: Actor | None,
    action: str,
    object_type: str,
    object_id,
    detail: dict | None,
    area: str | None = None,
) -> AuditEvent:
    user = actor.user if actor else None
    return AuditEvent(
        area=codes_.common(actor.codes) if area is None and actor else (area or ""),
        user=user,
        username=getattr(user, "username", "") or ("cli" if actor is None else ""),
        token_id=actor.token_id if actor else None,
        ip=actor.ip if actor else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
    )


def audit_record(
    *,
    actor: Actor | None,
    action: str,
    object_type: str = "",
    object_id: str = "",
    detail: dict | None = None,
    area: str | None = None,
) -> AuditEvent:
    """Append one event; ``actor`` None is the server's own authority (the CLI). The event belongs
    to the actor's jurisdiction unless ``area`` names another (a failed login: the named user's)."""
    event = _event(actor, action, object_type, object_id, detail, area)
    event.save(force_insert=True)
    return event


def audit_bulk(*, actor: Actor | None, action: str, object_type: str, items: list[tuple[str, dict]]) -> int:
    """One event per (object_id, detail), written in batches (imports update many people at once)."""
    now = timezone.now()
    events = [_event(actor, action, object_type, object_id, detail) for object_id, detail in items]
    for event in events:
        event.at = now
    AuditEvent.objects.bulk_create(events, batch_size=2000)
    return len(events)


def _user_area(user: User) -> str:
    return codes_.common(user.jurisdictions.values_list("division_id", flat=True))


@transaction.atomic
def token_issue(*, user: User, name: str, actor: Actor | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; the raw key is returned once and only its hash is stored.
    The issue is audited in the token holder's jurisdiction (``actor`` None: the CLI)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], key_hash=hash_token(raw))
    audit_record(
        actor=actor,
        action="token",
        object_type="api_token",
        object_id=token.pk,
        detail={"op": "issue", "name": name, "holder": user.username, "prefix": token.prefix},
        area=_user_area(user),
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: Actor | None = None) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            action="token",
            object_type="api_token",
            object_id=token.pk,
            detail={"op": "revoke", "name": token.name, "holder": token.user.username},
            area=_user_area(token.user),
        )


def login_audit(*, request, user: User | None, username: str) -> None:
    """One event per login attempt on any login path (pages, admin): success or failure. A failure
    naming a known user belongs to that user's jurisdiction, so their county's auditor sees it."""
    ip = client_ip(request) if request is not None else None
    path = getattr(request, "path", "")
    if user is not None:
        audit_record(
            actor=Actor.for_user(user, ip=ip),
            action="login",
            object_type="user",
            object_id=user.pk,
            detail={"path": path},
        )
        return
    named = User.objects.filter(username__iexact=username).first() if username else None
    audit_record(
        actor=Actor(user=None, role="", codes=(), ip=ip),
        action="login_failed",
        object_type="user",
        object_id=username[:64],
        detail={"path": path},
        area=_user_area(named) if named else "",
    )


def user_changes_audit(
    *, actor: Actor | None, user: User, created: bool, changed: dict, before: set[str]
) -> None:
    """Audit a change of a user's role, rights or jurisdictions (the back office calls this)."""
    after = set(user.jurisdictions.values_list("division_id", flat=True))
    detail = {k: str(v) for k, v in changed.items()}
    if after != before:
        detail["jurisdictions_added"] = sorted(after - before)
        detail["jurisdictions_removed"] = sorted(before - after)
    if created or detail:
        audit_record(
            actor=actor,
            action="create" if created else "update",
            object_type="user",
            object_id=user.username[:64],
            detail=detail,
            area=codes_.common(after | before),
        )


def token_actor(raw: str, *, ip: str | None = None) -> Actor | None:
    """The actor of a live token (not revoked, user active), or None: one query.

    A device sends one request per scan, so this runs thousands of times a minute: the token, its
    user and the user's jurisdictions come in one plain-SQL statement (a row per jurisdiction),
    and the user is built with only the fields read (the rest load on access, if ever).
    """
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    stale_before = connection.ops.adapt_datetimefield_value(timezone.now() - _LAST_USED_RESOLUTION)
    token, user, jurisdiction = ApiToken._meta.db_table, User._meta.db_table, Jurisdiction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, (t.last_used_at IS NULL OR t.last_used_at < %s), u.id, u.username, u.role, "
            f"j.division_id FROM {token} t JOIN {user} u ON u.id = t.user_id "
            f"LEFT JOIN {jurisdiction} j ON j.user_id = u.id "
            "WHERE t.key_hash = %s AND t.revoked_at IS NULL AND u.is_active",
            [stale_before, hash_token(raw)],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    token_id, stale, user_id, username, role, _ = rows[0]
    if stale:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=timezone.now())
    account = loaded(User, id=user_id, username=username, role=role, is_active=True)
    codes = tuple(sorted(r[5] for r in rows if r[5] is not None))
    return Actor.of(account, codes=codes, ip=ip, token_id=token_id)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    codes: list[str],
    display_name: str = "",
    is_staff: bool = False,
) -> User:
    user = User.objects.create_user(
        username=username, password=password, role=role, display_name=display_name, is_staff=is_staff
    )
    Jurisdiction.objects.bulk_create([Jurisdiction(user=user, division_id=code) for code in codes])
    return user
