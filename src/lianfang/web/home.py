"""What the shared pages put on the home page's "act now" list (``Plugin.home``): the user's own
imports that failed or turned rows away, which only they can fix (a job is seen by its uploader)."""

from __future__ import annotations

import datetime as dt

from lianfang.accounts.scoping import Actor
from lianfang.imports.models import ImportJob, JobStatus

# The user's latest jobs looked at: a failure an upload since has replaced drops off the list.
RECENT_JOBS = 10


def failed_imports(*, actor: Actor, now: dt.datetime) -> dict | None:
    """The user's recent imports that failed, or finished with rejected rows; None when none did."""
    jobs = list(ImportJob.objects.visible_to(actor).order_by("-created_at")[:RECENT_JOBS])
    failing = [
        {"job": j, "failed": j.status == JobStatus.FAILED, "rejected": int(j.summary.get("rejected") or 0)}
        for j in jobs
        if j.status == JobStatus.FAILED or (j.status == JobStatus.DONE and (j.summary.get("rejected") or 0))
    ]
    return {"jobs": failing} if failing else None
