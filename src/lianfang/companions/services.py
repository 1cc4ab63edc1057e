"""Companions of the recorded cases in a pings file: written as FORMATS.md's ``companions.csv``
(the CLI, :func:`companions_export`), or computed from the web in the background
(:func:`companions_run_create`, :func:`companions_run_execute`), stored as rows per case and person
key, and confirmed by tracers in bulk into contacts of category ``companion``
(:func:`companions_confirm`, through the ``"contacts_confirm_companions"`` fact tracing states)."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lianfang.accounts.models import AuditAction
from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.analytics import companions as analytics
from lianfang.companions.models import CompanionMatch, CompanionRun, MatchStatus, RunStatus
from lianfang.core import codes
from lianfang.core.errors import Refused
from lianfang.core.facts import CompanionContact
from lianfang.core.plugins import provider
from lianfang.core.reader import ImportFileError
from lianfang.core.times import parse_time
from lianfang.edition.services import in_force
from lianfang.imports.services import memory_ceiling, tasks_run_in_process
from lianfang.people.models import Person
from lianfang.people.normalize import is_plain_mobile, normalize_phone


class TracingMissing(Refused):
    def __init__(self) -> None:
        super().__init__(
            "tracing_missing",
            "未安装流调模块（没有病例数据来源），无法计算时空伴随。",
            "The tracing app is not installed (no source of cases): companions cannot be computed.",
        )


class UnknownCases(Refused):
    def __init__(self, codes: list[str]) -> None:
        shown = ", ".join(codes)
        super().__init__("unknown_case", f"没有这些病例：{shown}", f"No such cases: {shown}")


@dataclass(frozen=True)
class Written:
    rows: int
    cases: int  # the cases considered (those asked for, or every recorded case)
    edition: str
    engine: str


def cases_table(case_facts) -> list[dict]:
    """The analytics' case rows from ``CaseFact``s (core/facts.py)."""
    return [
        {"case_code": c.case_code, "id_number": c.id_number, "phone": c.phone, "reported_at": c.reported_at}
        for c in case_facts
    ]


def companions_export(
    *, pings: Path, out: Path, case_codes: list[str] | None = None, engine: str = "duckdb"
) -> Written:
    """Server authority only (the CLI): every recorded case is read, full keys are written.

    The look-back, co-dwell and optional total dwell are the edition in force's. Raises
    :class:`TracingMissing`, :class:`UnknownCases`, ``ImportFileError`` (the pings file) or
    ``analytics.EngineUnavailable``. The export is audited (who: the CLI; what: the cases, the
    edition, the engine and the row count), as every export of personal data is.
    """
    cases_as_of = provider("cases_as_of")
    if cases_as_of is None:
        raise TracingMissing()
    cases = cases_table(cases_as_of(None))
    edition = in_force()
    params = analytics.Params.of(edition.tracing)
    try:
        rows = analytics.companions_write(pings, cases, params, out, case_codes=case_codes, engine=engine)
    except analytics.UnknownCases as exc:
        raise UnknownCases(exc.codes) from exc
    considered = len(set(case_codes)) if case_codes else len(cases)
    audit_record(
        actor=None,
        action=AuditAction.EXPORT,
        object_type="companions",
        object_id=Path(out).name,
        detail={
            "pings": Path(pings).name,
            "cases": sorted(case_codes) if case_codes else "all",
            "rows": rows,
            "edition": edition.code,
            "engine": engine,
        },
    )
    return Written(rows=rows, cases=considered, edition=edition.code, engine=engine)


# --- the web: a run in the background, its rows, the tracers' decisions -----------------------

log = logging.getLogger(__name__)

INTERNAL_ERROR = "计算时发生内部错误，已记录，请联系管理员 / internal error while computing, logged; contact the administrator"


class ConfirmUnavailable(Refused):
    def __init__(self) -> None:
        super().__init__(
            "tracing_missing",
            "未安装流调模块，无法把时空伴随者确认为接触者。",
            "The tracing app is not installed: companions cannot be confirmed as contacts.",
        )


def _visible_cases(actor: Actor, facts) -> list:
    """The cases whose community lies in the actor's jurisdiction (deny by default)."""
    return [c for c in facts if c.community_code and actor.covers(c.community_code)]


def cases_for(actor: Actor) -> list:
    """The ``CaseFact``s the actor may run companions for, newest first ([] without tracing)."""
    cases_as_of = provider("cases_as_of")
    if cases_as_of is None:
        return []
    return sorted(
        _visible_cases(actor, cases_as_of(None)), key=lambda c: (-c.reported_at.timestamp(), c.case_code)
    )


def companions_run_create(*, actor: Actor, uploaded_file, case_codes: list[str]) -> CompanionRun:
    """Store an uploaded pings file and queue its run over ``case_codes`` (none: every case the
    actor sees). A case the actor does not see is refused like one that does not exist."""
    from lianfang.companions.tasks import run_companions

    require(actor, "companions.run")
    cases_as_of = provider("cases_as_of")
    if cases_as_of is None:
        raise TracingMissing()
    codes = sorted({c.strip() for c in case_codes if c.strip()})
    if codes:
        seen = {c.case_code for c in _visible_cases(actor, cases_as_of(None))}
        if set(codes) - seen:
            raise UnknownCases(sorted(set(codes) - seen))
    folder = Path(settings.MEDIA_ROOT) / "companions"
    folder.mkdir(parents=True, exist_ok=True)
    run = CompanionRun(user=actor.user, ip=actor.ip, original_name=uploaded_file.name[:255], case_codes=codes)
    target = folder / f"{run.id}{Path(uploaded_file.name).suffix.lower()[:10]}"
    with open(target, "wb") as out:
        for chunk in uploaded_file.chunks():
            out.write(chunk)
    run.file_path = str(target)
    run.save()
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT,
        object_type="companion_run",
        object_id=str(run.id),
        detail={"pings": run.original_name, "cases": codes or "all"},
    )
    transaction.on_commit(lambda: run_companions.enqueue(str(run.id)))
    return run


def _progress(run: CompanionRun, percent: int, **fields) -> None:
    CompanionRun.objects.filter(pk=run.pk).update(percent=percent, **fields)


def companions_run_execute(*, run_id: str) -> None:
    """Run a queued run (idempotent: a finished one is left alone). Its user's cases only; every
    recorded case's keys still keep a case from being anyone's companion (FORMATS.md)."""
    run = CompanionRun.objects.select_related("user").get(pk=run_id)
    if run.status in (RunStatus.DONE, RunStatus.FAILED):
        return
    _progress(run, 5, status=RunStatus.RUNNING)
    actor = Actor.for_user(run.user, ip=run.ip)
    try:
        cases_as_of = provider("cases_as_of")
        if cases_as_of is None:
            raise TracingMissing()
        every = cases_as_of(None)
        mine = {c.case_code: c for c in _visible_cases(actor, every)}
        codes = [c for c in run.case_codes if c in mine] if run.case_codes else sorted(mine)
        edition = in_force()
        _progress(run, 15, edition=edition.code, cases=len(codes))
        # A worker process of its own gets the imports' memory ceiling (an immediate backend runs
        # in the web server's or the tests' process, whose limit it must not change).
        with _nothing() if tasks_run_in_process() else memory_ceiling():
            found = analytics.companions(
                Path(run.file_path),
                cases_table(every),
                analytics.Params.of(edition.tracing),
                case_codes=codes,
            )
        _progress(run, 70, overlaps=found.num_rows)
        stored = _store_matches(run, found, mine, lambda p: _progress(run, 70 + p * 29 // 100))
    except (ImportFileError, Refused) as exc:
        _progress(run, 0, status=RunStatus.FAILED, error=str(exc), finished_at=timezone.now())
        return
    except Exception:
        log.exception("companions run %s failed", run.pk)
        _progress(run, 0, status=RunStatus.FAILED, error=INTERNAL_ERROR, finished_at=timezone.now())
        return
    _progress(run, 100, status=RunStatus.DONE, matches=stored, finished_at=timezone.now())


@contextmanager
def _nothing():
    yield


def _aggregate(found: pa.Table) -> list[dict]:
    """companions.csv rows → one per (case, person key): overlaps, minutes, cells, first, last."""
    out: dict[tuple[str, str], dict] = {}
    for row in found.to_pylist():
        key = (row["case_code"], row["person_key"])
        agg = out.get(key)
        if agg is None:
            agg = out[key] = {
                "case_code": row["case_code"],
                "person_key": row["person_key"],
                "minutes": Decimal(0),
                "overlaps": 0,
                "cells": [],
                "first": row["overlap_start"],
                "last": row["overlap_end"],
            }
        agg["minutes"] += Decimal(row["overlap_minutes"])
        agg["overlaps"] += 1
        if row["cell_id"] not in agg["cells"]:
            agg["cells"].append(row["cell_id"])
        agg["first"] = min(agg["first"], row["overlap_start"])
        agg["last"] = max(agg["last"], row["overlap_end"])
    return list(out.values())


def _registry(keys: set[str]) -> tuple[dict[str, Person], dict[str, Person]]:
    """The registry's people for the keys: by ID number, and by a phone only one person holds."""
    by_id: dict[str, Person] = {}
    by_phone: dict[str, Person] = {}
    ids = {k.upper() for k in keys}
    phones = {normalize_phone(k) for k in keys if is_plain_mobile(normalize_phone(k))}
    for chunk in _chunks(ids):
        for p in Person.objects.filter(id_number__in=chunk).order_by("id"):
            by_id.setdefault(p.id_number, p)
    shared: set[str] = set()
    for chunk in _chunks({p[::-1] for p in phones}):
        for p in Person.objects.filter(phone_rev__in=chunk).order_by("id"):
            if p.phone in by_phone and by_phone[p.phone].pk != p.pk:
                shared.add(p.phone)
            by_phone.setdefault(p.phone, p)
    for phone in shared:  # a phone several people use (a family's) names none of them
        del by_phone[phone]
    return by_id, by_phone


def _chunks(values, size: int = 2000):
    values = sorted(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _store_matches(run: CompanionRun, found: pa.Table, cases: dict, progress) -> int:
    rows = _aggregate(found)
    by_id, by_phone = _registry({r["person_key"] for r in rows})
    objs = []
    for r in rows:
        key = r["person_key"]
        phone = normalize_phone(key)
        kind = "phone" if is_plain_mobile(phone) else "id_number"
        person = by_phone.get(phone) if kind == "phone" else by_id.get(key.upper())
        case_code = cases[r["case_code"]].community_code
        community = person.community_id if person is not None and person.community_id else ""
        objs.append(
            CompanionMatch(
                run=run,
                case_code=r["case_code"],
                case_community_code=case_code,
                case_town_code=codes.town(case_code) if len(case_code) >= 9 else "",
                case_county_code=codes.county(case_code) if len(case_code) >= 6 else "",
                person_key=key,
                key_kind=kind,
                person=person,
                id_type=person.id_type if person is not None else "",
                id_number=person.id_number
                if person is not None
                else (key.upper() if kind == "id_number" else ""),
                name=person.name if person is not None else "",
                phone=(person.phone if person is not None else "") or (phone if kind == "phone" else ""),
                community_code=community,
                town_code=person.town_code if person is not None else "",
                county_code=person.county_code if person is not None else "",
                minutes=r["minutes"],
                overlaps=r["overlaps"],
                cells=",".join(r["cells"])[:500],
                first_at=parse_time(r["first"]),
                last_at=parse_time(r["last"]),
            )
        )
    with transaction.atomic():
        for start in range(0, len(objs), 1000):
            CompanionMatch.objects.bulk_create(objs[start : start + 1000])
            progress(100 * min(start + 1000, len(objs)) // max(len(objs), 1))
    return len(objs)


@dataclass
class Decided:
    """What a bulk decision did: rows confirmed (new contacts or merged), already contacts
    (``duplicate``), and rows left pending with the reason (reason → count)."""

    confirmed: int = 0
    duplicate: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str, n: int = 1) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + n


def confirm_available() -> bool:
    return provider("contacts_confirm_companions") is not None


@transaction.atomic
def companions_confirm(*, actor: Actor, ids) -> Decided:
    """Confirm the pending rows ``ids`` as contacts of category ``companion`` of their case, through
    the contacts fact tracing states (its rules, merge and plans). Needs ``companions.confirm`` and
    authority over each row's case (others: ``not_yours``, unchanged). Idempotent: a confirmed row
    is skipped, a contact registered before is ``duplicate`` (confirmed, nothing added)."""
    require(actor, "companions.confirm")
    register = provider("contacts_confirm_companions")
    if register is None:
        raise ConfirmUnavailable()
    ids = {int(i) for i in ids}
    decided = Decided()
    if not ids:
        return decided
    visible = CompanionMatch.objects.visible_to(actor).filter(pk__in=ids)
    mine = list(visible.case_within(actor).filter(status=MatchStatus.PENDING).select_for_update())
    # Visible through the matched person but the case is another jurisdiction's: not decided here.
    decided.refuse("not_yours", visible.exclude(pk__in=visible.case_within(actor).values("pk")).count())
    decided.refused = {k: v for k, v in decided.refused.items() if v}
    rows, unknown = [], []
    for m in mine:
        if not (m.id_number and m.name):
            unknown.append(m)
            continue
        rows.append(
            CompanionContact(
                ref=str(m.pk),
                case_code=m.case_code,
                id_type=m.id_type,
                id_number=m.id_number,
                name=m.name,
                phone=m.phone,
                community_code=m.community_code,
                place=f"时空伴随 基站 {m.cells}",
                last_exposure_at=m.last_at,
            )
        )
    if unknown:
        decided.refuse("not_in_registry", len(unknown))
    outcomes = register(actor=actor, rows=rows) if rows else {}
    done = []
    for m in mine:
        outcome = outcomes.get(str(m.pk))
        if outcome is None:
            continue
        if outcome in ("accepted", "duplicate"):
            decided.confirmed += outcome == "accepted"
            decided.duplicate += outcome == "duplicate"
            done.append(m.pk)
        else:
            decided.refuse(outcome)
    if done:
        CompanionMatch.objects.filter(pk__in=done).update(
            status=MatchStatus.CONFIRMED, decided_by=actor.user, decided_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="companions",
            detail={"confirmed": decided.confirmed, "duplicate": decided.duplicate, "rows": len(done)},
        )
    return decided


@transaction.atomic
def companions_dismiss(*, actor: Actor, ids) -> int:
    """Mark pending rows whose case the actor holds as not companions (kept, never deleted)."""
    require(actor, "companions.confirm")
    ids = {int(i) for i in ids}
    changed = (
        CompanionMatch.objects.visible_to(actor)
        .case_within(actor)
        .filter(pk__in=ids, status=MatchStatus.PENDING)
        .update(status=MatchStatus.DISMISSED, decided_by=actor.user, decided_at=timezone.now())
    )
    if changed:
        audit_record(
            actor=actor, action=AuditAction.UPDATE, object_type="companions", detail={"dismissed": changed}
        )
    return changed
