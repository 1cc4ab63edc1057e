"""Writes of the accounts app: audit events, device tokens, login throttling, demo accounts."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from lianfang.accounts.models import ApiToken, AuditEvent, Jurisdiction, LoginFailure, User, hash_token
from lianfang.accounts.scoping import Actor
from lianfang.core.db import loaded

TOKEN_PREFIX = "lf_"
_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _event(actor: Actor | None, action: str, object_type: str, object_id, detail: dict | None) -> AuditEvent:
    user = actor.user if actor else None
    return AuditEvent(
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
) -> AuditEvent:
    """Append one event; ``actor`` None is the server's own authority (the CLI)."""
    event = _event(actor, action, object_type, object_id, detail)
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


@transaction.atomic
def token_issue(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; the raw key is returned once and only its hash is stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], key_hash=hash_token(raw))
    return token, raw


def token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


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


def login_is_throttled(*, username: str) -> bool:
    since = timezone.now() - dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    recent = LoginFailure.objects.filter(username=username.lower(), at__gte=since).count()
    return recent >= settings.LOGIN_FAILURE_LIMIT


def login_failure_record(*, username: str, ip: str | None) -> None:
    LoginFailure.objects.create(username=username.lower(), ip=ip)
    audit_record(
        actor=Actor(user=None, role="", codes=(), ip=ip),
        action="login_failed",
        object_type="user",
        object_id=username[:64],
    )


def login_failures_clear(*, username: str) -> None:
    LoginFailure.objects.filter(username=username.lower()).delete()


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
