"""Opening and closing screening rounds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.accounts.services import audit_record
from lianfang.core.fields import bad_text
from lianfang.edition.services import in_force
from lianfang.geo.models import Division
from lianfang.screening.models import PoolPolicy, Round, RoundScope, RoundStatus
from lianfang.screening.services.errors import ScreeningError, code_taken, require, require_covers


@transaction.atomic
def round_open(
    *,
    actor: Actor | None,
    code: str,
    name: str,
    scope: Iterable[str],
    pool_policy: str = PoolPolicy.TEN,
    starts_at: dt.datetime | None = None,
    deadline_at: dt.datetime | None = None,
) -> Round:
    """Open a round over ``scope`` (division codes of any level) under the protocol edition in
    force; the deadline defaults to that edition's round hours (24 h).

    Opening a round again with the same code and scope returns it unchanged (scripts may retry).
    """
    require(actor, "round.open")
    code = code.strip()
    codes = sorted({c.strip() for c in scope if c.strip()})
    if not code or len(code) > 32:
        raise ScreeningError(
            "bad_code", "轮次编号不能为空且不超过32个字符", "the round code must be 1-32 characters"
        )
    wrong = bad_text(name.strip(), Round._meta.get_field("name").max_length)
    if wrong:  # PostgreSQL would refuse it (a 500); SQLite would store it
        raise ScreeningError("bad_name", f"轮次名称{wrong[0]}", f"the round name {wrong[1]}")
    if not codes:
        raise ScreeningError(
            "no_scope", "请指定筛查范围（区划代码）", "give the round a scope (division codes)"
        )
    known = set(Division.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ScreeningError(
            "unknown_division",
            f"区划代码不存在：{', '.join(unknown)}",
            f"unknown division codes: {', '.join(unknown)}",
        )
    if actor is not None:
        outside = [c for c in codes if not actor.covers(c)]
        if outside:
            raise ScreeningError(
                "out_of_jurisdiction",
                f"范围超出您的辖区：{', '.join(outside)}",
                f"outside your jurisdiction: {', '.join(outside)}",
            )
    if pool_policy not in PoolPolicy.values:
        raise ScreeningError("bad_pool_policy", "混采策略无效", "unknown pool policy")
    starts_at = starts_at or timezone.now()
    rules = in_force()
    deadline_at = deadline_at or starts_at + dt.timedelta(hours=rules.screening.round_hours)
    if deadline_at <= starts_at:
        raise ScreeningError("bad_deadline", "完成时限须晚于开始时间", "the deadline must be after the start")
    existing = Round.objects.filter(code=code).first()
    if existing is not None:
        if sorted(existing.scope) == codes:
            return existing
        if actor is not None and not all(actor.covers(c) for c in existing.scope):
            # Another jurisdiction's round: nothing of it (its scope) is told.
            raise code_taken("轮次编号", "the round code", code)
        raise ScreeningError(
            "round_exists", f"轮次 {code} 已存在，范围不同", f"round {code} exists with another scope"
        )
    rnd = Round.objects.create(
        code=code,
        name=name.strip() or code,
        scope=codes,
        pool_policy=pool_policy,
        starts_at=starts_at,
        deadline_at=deadline_at,
        edition=rules.code,
        opened_by=actor.user if actor else None,
    )
    RoundScope.objects.bulk_create([RoundScope(round=rnd, division_id=c) for c in codes])
    audit_record(actor=actor, action="create", object_type="round", object_id=code, detail={"scope": codes})
    return rnd


@transaction.atomic
def round_close(*, actor: Actor | None, rnd: Round) -> Round:
    """Close a round: later samples for it are refused (``round_closed``); results still arrive.

    Only an actor whose jurisdictions cover the round's whole scope may: a county office does not
    close a city-wide round (every county's scans would be refused afterwards)."""
    require(actor, "round.close")
    require_covers(actor, rnd.scope, what_zh=f"轮次 {rnd.code} 的范围", what_en=f"round {rnd.code}")
    if rnd.status != RoundStatus.CLOSED:
        rnd.status = RoundStatus.CLOSED
        rnd.closed_at = timezone.now()
        rnd.save(update_fields=["status", "closed_at"])
        audit_record(
            actor=actor, action="update", object_type="round", object_id=rnd.code, detail={"closed": True}
        )
    return rnd
