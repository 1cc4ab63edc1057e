"""The timed jobs (``Plugin.periodic``): the problem list's rules, urgent requests' escalation, zone
lift proposals … run by every background worker's scheduler thread and by ``lianfang schedule run``.

Each job runs once per interval across all workers and servers: the first to insert the interval's
``PeriodicRun`` row runs it, the others find the row taken and go on. A job that fails is recorded
with its error and does not stop the others or the worker; the next interval tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from lianfang.core.plugins import Periodic, periodic_jobs, resolve
from lianfang.imports.models import PeriodicRun

log = logging.getLogger("lianfang.schedule")

TICK_SECONDS = 10  # how often a worker's scheduler looks for a due interval
KEEP_DAYS = 7  # runs older than this are forgotten


@dataclass(frozen=True)
class Ran:
    name: str
    outcome: str  # what the job said it did, or "" when it failed
    error: str  # the failure's last line, or ""


def slot_of(job: Periodic, now: dt.datetime) -> int:
    return int(now.timestamp()) // job.every_seconds


def _claim(job: Periodic, now: dt.datetime, worker: str) -> PeriodicRun | None:
    try:
        with transaction.atomic():
            return PeriodicRun.objects.create(
                name=job.name, slot=slot_of(job, now), worker=worker, started_at=now
            )
    except IntegrityError:
        return None  # another worker runs this interval


def run_due(
    *, now: dt.datetime | None = None, worker: str = "", jobs: list[Periodic] | None = None
) -> list[Ran]:
    """Run every job whose current interval nobody has claimed yet; returns what ran."""
    now = now or timezone.now()
    ran = []
    for job in periodic_jobs() if jobs is None else jobs:
        run = _claim(job, now, worker)
        if run is None:
            continue
        outcome, error = "", ""
        try:
            outcome = str(resolve(job.run)(now))[:500]
        except Exception as exc:  # recorded, logged, tried again next interval
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            log.exception("periodic job %s failed", job.name)
        PeriodicRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), outcome=outcome, error=error)
        ran.append(Ran(name=job.name, outcome=outcome, error=error))
    PeriodicRun.objects.filter(started_at__lt=now - dt.timedelta(days=KEEP_DAYS)).delete()
    return ran


@dataclass(frozen=True)
class JobState:
    job: Periodic
    last: PeriodicRun | None  # the latest run, finished or not


def job_states() -> list[JobState]:
    """Each job with its latest run (for ``lianfang schedule list`` and the operations page)."""
    out = []
    for job in periodic_jobs():
        out.append(
            JobState(job=job, last=PeriodicRun.objects.filter(name=job.name).order_by("-started_at").first())
        )
    return out
