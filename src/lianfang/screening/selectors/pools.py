"""Pools, alerts and re-check tasks: seen when the pool's site or one of its members' tasks is the actor's."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from lianfang.accounts.scoping import Actor, inside_q
from lianfang.screening.models import (
    OPEN_TASK_STATUSES,
    PoolAlert,
    RecheckTask,
    Result,
    Round,
    RoundStatus,
    Sample,
    TaskStatus,
    Tube,
    TubeState,
)
from lianfang.screening.selectors.common import SCREENING, _site_q


def _pool_q(actor: Actor) -> Q:
    """A tube whose site, or one of whose members' re-check tasks, lies in the actor's jurisdiction."""
    tasks = RecheckTask.objects.visible_to(actor).values("tube_id")
    return _site_q(actor) | Q(pk__in=tasks)


def _alerts_q(actor: Actor) -> Q:
    """The same rule as :func:`_pool_q`, for an alert (through its tube)."""
    tasks = RecheckTask.objects.visible_to(actor).values("tube_id")
    return _site_q(actor, "tube__site__") | Q(tube_id__in=tasks)


def pools_visible(*, rnd: Round, actor: Actor) -> QuerySet[Tube]:
    """Screening tubes of the round the actor may open as a pool (see the module's documentation)."""
    if not actor.codes:
        return Tube.objects.none()
    return Tube.objects.filter(round=rnd, purpose=SCREENING).filter(_pool_q(actor))


def abnormal_pools(*, rnd: Round, actor: Actor, limit: int = 300) -> list[dict]:
    """Abnormal pools (then invalid tubes) with members and the progress of their re-check tasks."""
    tubes = list(
        pools_visible(rnd=rnd, actor=actor)
        .filter(state__in=[TubeState.ABNORMAL, TubeState.INVALID])
        .select_related("site")
        .annotate(members=Count("samples"))
        .order_by("state", "-resulted_at", "barcode")[:limit]
    )
    progress: dict[int, dict[str, int]] = {t.pk: {} for t in tubes}
    if tubes:
        for tube_id, status, n in (
            RecheckTask.objects.filter(tube_id__in=progress)
            .values_list("tube_id", "status")
            .annotate(n=Count("id"))
            .order_by()
        ):
            progress[tube_id][status] = n
    now = timezone.now()
    overdue = (
        dict(
            RecheckTask.objects.filter(tube_id__in=progress)
            .filter(_overdue_q(now))
            .values_list("tube_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        if tubes
        else {}
    )
    out = []
    for tube in tubes:
        counts = progress[tube.pk]
        out.append(
            {
                "tube": tube,
                "members": tube.members,
                "open": counts.get(TaskStatus.OPEN, 0),
                "sampled": counts.get(TaskStatus.SAMPLED, 0),
                "closed": sum(n for s, n in counts.items() if s not in OPEN_TASK_STATUSES),
                "positive": counts.get(TaskStatus.POSITIVE, 0),
                "tasks": sum(counts.values()),
                "overdue": overdue.get(tube.pk, 0),
            }
        )
    return out


def alerts_open(*, rnd: Round, actor: Actor) -> list[PoolAlert]:
    """Unacknowledged abnormal-pool alerts (一键即报) the actor must see, newest first."""
    if not actor.codes:
        return []
    return list(
        PoolAlert.objects.filter(round=rnd, acknowledged_at__isnull=True)
        .filter(_alerts_q(actor))
        .select_related("tube__site")
        .order_by("-raised_at", "pk")
    )


def alert_get(*, rnd: Round, actor: Actor, pk: int) -> PoolAlert | None:
    if not actor.codes:
        return None
    return PoolAlert.objects.filter(round=rnd, pk=pk).filter(_alerts_q(actor)).first()


def alerts_open_counts(*, rounds: list[Round], actor: Actor) -> dict[int, int]:
    if not rounds or not actor.codes:
        return {}
    return dict(
        PoolAlert.objects.filter(round__in=rounds, acknowledged_at__isnull=True)
        .filter(_alerts_q(actor))
        .values_list("round_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def pool_get(*, rnd: Round, actor: Actor, barcode: str) -> Tube | None:
    return pools_visible(rnd=rnd, actor=actor).filter(barcode=barcode).select_related("site").first()


def pool_detail(*, tube: Tube, actor: Actor) -> dict:
    """A pool's results, its members the actor may see (with their re-check tasks), and the rest counted.

    ``members``: (sample, person, task, outside). All members are listed when the pool's site is
    in the actor's jurisdiction (the site sampled them); otherwise only the members who live in
    it. A member the actor's site sampled who lives elsewhere is ``outside``: the page shows what
    the device sent (the ID), never the registry's record of that person nor their task (which
    is their home's); the home county sees the sample among its residents sampled elsewhere
    (:func:`sampled_elsewhere`).
    """
    results = list(
        Result.objects.filter(tube_barcode=tube.barcode).select_related("lab").order_by("reported_at", "pk")
    )
    samples = list(
        Sample.objects.filter(tube=tube)
        .select_related("person__community")
        .order_by("person__id_number", "pk")
    )
    tasks = {
        t.person_id: t
        for t in RecheckTask.objects.filter(tube=tube).select_related("tube", "check_tube", "community")
    }
    site_is_ours = tube.site is not None and actor.covers(tube.site.community_id)
    shown, hidden = [], 0
    for sample in samples:
        person = sample.person
        home = bool(person.community_id) and actor.covers(person.community_id)
        # An unregistered person has no home: the site that sampled them holds all there is.
        outside = bool(person.community_id) and not home
        if home or (site_is_ours and not outside):
            shown.append((sample, person, tasks.get(person.pk), False))
        elif site_is_ours:
            shown.append((sample, person, None, True))
        else:
            hidden += 1
    return {"results": results, "members": shown, "hidden": hidden, "tasks": tasks}


def sampled_elsewhere(*, actor: Actor, limit: int = 500) -> list[Sample]:
    """Samples of the open rounds whose person lives in the actor's jurisdiction but was sampled
    at a site outside it (the flag to a person's home county: a border crossing, or someone
    else's device scanning a resident's ID). Newest first, at most ``limit``; any open round,
    visible to the actor or not (the sample is their resident's)."""
    if not actor.codes:
        return []
    residents = inside_q(
        actor.codes, {6: "person__county_code", 9: "person__town_code", 12: "person__community_id"}
    )
    return list(
        Sample.objects.filter(round__status=RoundStatus.OPEN, tube__site__isnull=False)
        .filter(residents)
        .exclude(_site_q(actor, "tube__site__"))
        .select_related("person__community", "tube__site", "round")
        .order_by("-collected_at", "-pk")[:limit]
    )


def _overdue_q(now: dt.datetime) -> Q:
    return Q(status=TaskStatus.OPEN, due_sample_at__lt=now) | Q(
        status=TaskStatus.SAMPLED, due_result_at__lt=now
    )


def is_overdue(task: RecheckTask, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    if task.status == TaskStatus.OPEN:
        return task.due_sample_at < now
    if task.status == TaskStatus.SAMPLED:
        return task.due_result_at < now
    return False


def recheck_tasks(*, rnd: Round, actor: Actor, which: str = "open", now: dt.datetime | None = None):
    """The round's re-check tasks in the actor's jurisdiction: ``open``, ``overdue`` or ``all``."""
    now = now or timezone.now()
    tasks = (
        RecheckTask.objects.visible_to(actor)
        .filter(round=rnd)
        .select_related("person__community", "tube", "check_tube", "community")
    )
    if which == "open":
        tasks = tasks.open()
    elif which == "overdue":
        tasks = tasks.filter(_overdue_q(now))
    return tasks.order_by("due_sample_at", "id")


def task_get(*, rnd: Round, actor: Actor, pk: int) -> RecheckTask | None:
    return recheck_tasks(rnd=rnd, actor=actor, which="all").filter(pk=pk).first()


def tasks_visible(
    *, actor: Actor, round_code: str | None = None, open_only: bool = False
) -> QuerySet[RecheckTask]:
    """Re-check tasks in the actor's jurisdiction, of any round or of ``round_code``, with their tubes
    (the device API's list; person details are read with their own audit)."""
    tasks = RecheckTask.objects.visible_to(actor).select_related("tube", "check_tube")
    if round_code:
        tasks = tasks.filter(round__code=round_code)
    if open_only:
        tasks = tasks.open()
    return tasks


def task_visible(*, actor: Actor, pk: int) -> RecheckTask | None:
    """The task ``pk`` if it is in the actor's jurisdiction; else None (a 404)."""
    return tasks_visible(actor=actor).filter(pk=pk).first()
