"""The screening section of the person page (declared in :mod:`lianfang.screening.plugin`)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from lianfang.screening.models import OPEN_TASK_STATUSES, RecheckTask, Sample


def person_screening(*, person, actor) -> dict | None:
    """A person's last samples and re-check tasks; the caller has already scoped the person."""
    samples = list(
        Sample.objects.filter(person=person).select_related("tube", "round").order_by("-collected_at")[:10]
    )
    tasks = list(
        RecheckTask.objects.filter(person=person).select_related("tube", "check_tube").order_by("-id")[:10]
    )
    if not samples and not tasks:
        return None
    held = any(t.status in OPEN_TASK_STATUSES for t in tasks)
    return {
        "samples": samples,
        "tasks": tasks,
        "alert": _("混管异常，待单采复核：原地管控，等待应急采样队上门。") if held else "",
        "alert_id": "held",
    }
