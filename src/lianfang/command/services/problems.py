"""The problem list (问题清单): filing, the state machine, evidence, raising from data, escalation.

States 交办 → 整改中 → 已整改（待核验）→ 销号, or back to 整改中 with a reason — one table,
:data:`TRANSITIONS`, says which action moves which state, with which verb. Every write needs the
verb (declared per role in the plugin) and authority over the problem's whole place: a county may
not close a city's problem, nor see it ("not yours" is "not there").
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.command.models import Evidence, Problem, ProblemEvent, ProblemSource, ProblemState
from lianfang.command.services.briefing import DAY
from lianfang.core import codes
from lianfang.core.errors import Refused
from lianfang.core.times import SHANGHAI

S = ProblemState


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    verb: str
    needs_reason: bool = False


TRANSITIONS: dict[str, Transition] = {
    "start": Transition(frozenset({S.ASSIGNED}), S.RECTIFYING, "problem.rectify"),
    "report": Transition(frozenset({S.ASSIGNED, S.RECTIFYING}), S.FIXED, "problem.rectify"),
    "verify": Transition(frozenset({S.FIXED}), S.CLOSED, "problem.verify"),
    "reject": Transition(frozenset({S.FIXED}), S.RECTIFYING, "problem.verify", needs_reason=True),
}
ACTION_LABELS = {
    "start": ("开始整改", "start rectifying"),
    "report": ("报告已整改", "report fixed"),
    "verify": ("核验通过，销号", "verified: close"),
    "reject": ("核验未通过，退回整改", "check failed: back to rectifying"),
}

# Evidence: what a photo or a document may be, by its first bytes (the name and the browser's
# claimed type are not trusted), and how big.
EVIDENCE_TYPES = {
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"%PDF-": ("application/pdf", "pdf"),
}
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024


class ProblemRefused(Refused):
    pass


def _not_found() -> ProblemRefused:
    return ProblemRefused(
        "not_found", "问题不存在（或不在您的辖区内）", "no such problem (or not in your jurisdiction)"
    )


def _need_authority(actor: Actor | None, code: str) -> None:
    """The actor holds the whole of ``code`` (server authority: always)."""
    if actor is not None and not actor.covers(code):
        raise ProblemRefused(
            "out_of_jurisdiction",
            "该属地不在您的辖区内",
            "that place is outside your jurisdiction",
        )


def default_deadline(now: dt.datetime, protocol) -> dt.datetime:
    """当日整改: the end of the local day (24:00) when the edition says same day, else the fix hours."""
    rules = protocol.command
    if rules.problem_fix_same_day:
        local = now.astimezone(SHANGHAI)
        return dt.datetime.combine(local.date() + DAY, dt.time(), tzinfo=SHANGHAI)
    return now + dt.timedelta(hours=rules.problem_fix_hours)


def _event(problem: Problem, actor: Actor | None, action: str, before: str, note: str = "") -> None:
    ProblemEvent.objects.create(
        problem=problem,
        at=timezone.now(),
        user=actor.user if actor else None,
        action=action,
        from_state=before,
        to_state=problem.state,
        note=note,
    )


@transaction.atomic
def problem_file(
    *,
    actor: Actor | None,
    title: str,
    division_code: str,
    responsible: str = "",
    detail: str = "",
    source: str = ProblemSource.INSPECTION,
    deadline_at: dt.datetime | None = None,
) -> Problem:
    """File a problem by hand (an inspector, a commander or an upper group) on a place the actor holds."""
    from lianfang.edition.services import in_force
    from lianfang.geo.models import Division

    require(actor, "problem.file")
    title = (title or "").strip()
    if not title:
        raise ProblemRefused("missing_title", "请填写问题", "describe the problem")
    if source not in (ProblemSource.INSPECTION, ProblemSource.COMMAND, ProblemSource.UPPER):
        raise ProblemRefused("bad_source", "问题来源无效", "unknown source of the problem")
    if not Division.objects.filter(code=division_code).exists():
        raise ProblemRefused("unknown_division", "属地区划不存在", "unknown division")
    _need_authority(actor, division_code)
    now = timezone.now()
    protocol = in_force()
    if deadline_at is not None and deadline_at <= now:
        raise ProblemRefused("past_deadline", "整改时限须晚于现在", "the deadline must be in the future")
    problem = Problem.objects.create(
        title=title[:200],
        detail=detail,
        source=source,
        division_code=division_code,
        responsible=responsible[:100],
        deadline_at=deadline_at or default_deadline(now, protocol),
        edition=protocol.code,
        filed_by=actor.user if actor else None,
        created_at=now,
    )
    _event(problem, actor, "file", "")
    audit_record(actor=actor, action="create", object_type="problem", object_id=str(problem.pk))
    return problem


@transaction.atomic
def problem_transition(*, actor: Actor | None, problem_id: int, action: str, reason: str = "") -> Problem:
    """Move a problem by ``action`` (:data:`TRANSITIONS`); refused by role, jurisdiction and state."""
    rule = TRANSITIONS.get(action)
    if rule is None:
        raise ProblemRefused("bad_action", "未知的操作", "unknown action")
    require(actor, rule.verb)
    qs = Problem.objects.select_for_update()
    problem = (qs if actor is None else qs.visible_to(actor)).filter(pk=problem_id).first()
    if problem is None:
        raise _not_found()
    _need_authority(actor, problem.division_code)
    if problem.state not in rule.sources:
        raise ProblemRefused(
            "bad_state",
            f"当前状态（{ProblemState(problem.state).label}）不能执行此操作",
            f"not allowed in the problem's current state ({problem.state})",
        )
    reason = (reason or "").strip()
    if rule.needs_reason and not reason:
        raise ProblemRefused("missing_reason", "退回整改须说明原因", "a reason is required to send it back")
    before = problem.state
    problem.state = rule.target
    fields = ["state"]
    if rule.target == S.CLOSED:
        problem.closed_at = timezone.now()
        fields.append("closed_at")
    problem.save(update_fields=fields)
    _event(problem, actor, action, before, reason)
    audit_record(
        actor=actor,
        action="update",
        object_type="problem",
        object_id=str(problem.pk),
        detail={"action": action},
    )
    return problem


def _evidence_type(head: bytes) -> tuple[str, str] | None:
    for magic, kind in EVIDENCE_TYPES.items():
        if head.startswith(magic):
            return kind
    return None


@transaction.atomic
def evidence_add(*, actor: Actor | None, problem_id: int, name: str, data: bytes) -> Evidence:
    """Attach a photo (JPEG, PNG) or a PDF, at most :data:`EVIDENCE_MAX_BYTES`, stored with its SHA-256."""
    require(actor, "problem.evidence")
    qs = Problem.objects.all()
    problem = (qs if actor is None else qs.visible_to(actor)).filter(pk=problem_id).first()
    if problem is None:
        raise _not_found()
    _need_authority(actor, problem.division_code)
    if problem.state == S.CLOSED:
        raise ProblemRefused("closed", "问题已销号，不能再添加佐证", "the problem is closed")
    if not data:
        raise ProblemRefused("empty_file", "文件为空", "the file is empty")
    if len(data) > EVIDENCE_MAX_BYTES:
        raise ProblemRefused(
            "file_too_large",
            f"文件超过 {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB",
            f"the file is larger than {EVIDENCE_MAX_BYTES // (1024 * 1024)} MB",
        )
    kind = _evidence_type(data[:16])
    if kind is None:
        raise ProblemRefused(
            "bad_file_type",
            "只接受 JPEG、PNG 照片或 PDF 文件",
            "only JPEG or PNG photos and PDF files are accepted",
        )
    content_type, ext = kind
    digest = hashlib.sha256(data).hexdigest()
    folder = Path(settings.MEDIA_ROOT) / "evidence" / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.{ext}"
    if not path.exists():
        path.write_bytes(data)
    evidence = Evidence.objects.create(
        problem=problem,
        name=Path(name or f"evidence.{ext}").name[:200],
        content_type=content_type,
        size=len(data),
        sha256=digest,
        path=str(path.relative_to(Path(settings.MEDIA_ROOT))),
        uploaded_by=actor.user if actor else None,
        uploaded_at=timezone.now(),
    )
    _event(problem, actor, "evidence", problem.state, evidence.name)
    audit_record(actor=actor, action="create", object_type="evidence", object_id=str(evidence.pk))
    return evidence


def evidence_bytes(evidence: Evidence) -> bytes:
    """The stored file, checked against its hash (a changed file is not served)."""
    data = (Path(settings.MEDIA_ROOT) / evidence.path).read_bytes()
    if hashlib.sha256(data).hexdigest() != evidence.sha256:
        raise ProblemRefused("evidence_changed", "佐证文件已被改动", "the evidence file has changed on disk")
    return data


# ---------------------------------------------------------------- raised by the platform


@dataclass(frozen=True)
class Finding:
    """A condition one rule sees now: ``key`` names the rule's object (one open problem per key)."""

    rule: str
    key: str
    division_code: str
    title: str
    url: str = ""


def problems_raise(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Run every rule; raise a problem for each new finding, keep one open problem while its
    condition holds, propose closing those whose condition cleared (and withdraw the proposal if
    it comes back). Idempotent: run it as often as you like (the worker, the CLI, a page)."""
    from lianfang.command.services.rules import findings
    from lianfang.edition.services import in_force

    now = now or timezone.now()
    protocol = in_force()
    found = {f.key: f for f in findings(now=now, protocol=protocol)}
    counts = {"raised": 0, "kept": 0, "proposed_close": 0, "withdrawn": 0}
    with transaction.atomic():
        open_ = {
            p.key: p for p in Problem.objects.open().filter(source=ProblemSource.PLATFORM).exclude(key="")
        }
        for key, problem in open_.items():
            if key in found:
                counts["kept"] += 1
                if problem.clear_proposed_at is not None:
                    problem.clear_proposed_at = None
                    problem.save(update_fields=["clear_proposed_at"])
                    _event(problem, None, "condition_back", problem.state)
                    counts["withdrawn"] += 1
            elif problem.clear_proposed_at is None:
                problem.clear_proposed_at = now
                problem.save(update_fields=["clear_proposed_at"])
                _event(problem, None, "propose_close", problem.state)
                counts["proposed_close"] += 1
    for key, f in found.items():
        if key in open_:
            continue
        try:
            with transaction.atomic():
                problem = Problem.objects.create(
                    title=f.title[:200],
                    source=ProblemSource.PLATFORM,
                    rule=f.rule,
                    key=key,
                    division_code=f.division_code,
                    deadline_at=default_deadline(now, protocol),
                    edition=protocol.code,
                    url=f.url[:300],
                    created_at=now,
                )
                _event(problem, None, "raise", "")
                counts["raised"] += 1
        except IntegrityError:  # raised meanwhile by a concurrent run: one open problem per key
            counts["kept"] += 1
    counts["escalated"] = problems_escalate(now=now)
    return counts


def problems_escalate(*, now: dt.datetime | None = None) -> int:
    """Open problems past their deadline — or open ``command.escalate_after_hours`` after they
    were filed, if that comes first — go one level up, once."""
    from lianfang.edition.services import in_force

    now = now or timezone.now()
    from django.db.models import Q

    ceiling = dt.timedelta(hours=in_force().command.escalate_after_hours)
    done = 0
    with transaction.atomic():
        late = (
            Problem.objects.select_for_update()
            .open()
            .filter(Q(deadline_at__lt=now) | Q(created_at__lt=now - ceiling), escalated_at__isnull=True)
        )
        for problem in late:
            upper = codes.parent(problem.division_code)
            if not upper:
                continue  # a province's problem has no level above it here
            problem.escalated_to, problem.escalated_at = upper, now
            problem.save(update_fields=["escalated_to", "escalated_at"])
            _event(problem, None, "escalate", problem.state, upper)
            done += 1
    return done


def problems_raise_timed(now: dt.datetime) -> str:
    """The worker's timed run of :func:`problems_raise` (``Plugin.periodic``)."""
    return "  ".join(f"{k} {v}" for k, v in problems_raise(now=now).items())
