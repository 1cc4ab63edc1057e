"""Trace tasks: each case opens one with the protocol's clocks (core trace, preliminary report,
counted from the case's report) and its exposure window; tracers assign a team, record places and
mark the clocks met."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from lianfang import protocol
from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core.times import SHANGHAI
from lianfang.tracing.models import Case, TraceTask
from lianfang.tracing.services.common import NotFound, TracingError


def exposure_start(case: Case, edition: protocol.Protocol) -> dt.datetime:
    """The protocol's days before onset (a confirmed case with an onset date) or before the first
    positive sampling (DOMAIN.md §4), from the local midnight of that day."""
    days = dt.timedelta(days=edition.tracing.onset_lookback_days)
    if case.onset_date is not None:
        start = dt.datetime.combine(case.onset_date, dt.time(), tzinfo=SHANGHAI) - days
        return min(start, case.first_positive_sampled_at - days)
    return case.first_positive_sampled_at - days


def trace_task_open(*, case: Case, edition: protocol.Protocol) -> TraceTask:
    """The case's trace task (one per case; an existing one is returned unchanged)."""
    existing = TraceTask.objects.filter(case=case).first()
    if existing is not None:
        return existing
    task = trace_task_new(case=case, edition=edition)
    task.save()
    return task


def trace_task_new(*, case: Case, edition: protocol.Protocol) -> TraceTask:
    """The trace task a new case opens (not saved): the edition's clocks from its report."""
    rules = edition.tracing
    return TraceTask(
        case=case,
        opened_at=case.reported_at,
        core_due_at=case.reported_at + dt.timedelta(hours=rules.core_trace_hours),
        report_due_at=case.reported_at + dt.timedelta(hours=rules.trace_report_hours),
        exposure_from=exposure_start(case, edition),
        exposure_to=case.reported_at,
        edition=edition.code,
    )


@transaction.atomic
def trace_task_update(
    *,
    actor: Actor | None,
    task: TraceTask,
    team: str | None = None,
    places: str | None = None,
    core_done: bool = False,
    report_done: bool = False,
    exposure_to: dt.datetime | None = None,
) -> TraceTask:
    """Assign the team, record places, mark the core trace or the report done (now)."""
    require(actor, "trace.update")
    if actor is not None and not TraceTask.objects.visible_to(actor).filter(pk=task.pk).exists():
        raise NotFound()
    task = TraceTask.objects.select_for_update().get(pk=task.pk)
    now = timezone.now()
    changed = {}
    if team is not None and team.strip() != task.team:
        task.team = changed["team"] = team.strip()[:100]
    if places is not None and places.strip() != task.places:
        task.places = places.strip()[:5000]
        changed["places"] = True
    if exposure_to is not None:
        if exposure_to < task.exposure_from:
            raise TracingError(
                "bad_window",
                "隔离时间早于暴露期起点",
                "the isolation time is before the exposure window starts",
            )
        task.exposure_to = exposure_to
        changed["exposure_to"] = exposure_to.isoformat()
    if core_done and task.core_done_at is None:
        task.core_done_at = now
        changed["core_done"] = now.isoformat()
    if report_done and task.report_done_at is None:
        task.report_done_at = now
        changed["report_done"] = now.isoformat()
    if changed:
        task.save()
        audit_record(
            actor=actor,
            action="update",
            object_type="trace_task",
            object_id=task.case.case_code,
            detail=changed,
        )
    return task
