"""Facts screening states for other apps (``Plugin.provides``; shapes in :mod:`lianfang.core.facts`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from lianfang.accounts.scoping import Actor
from lianfang.analytics import status
from lianfang.core import codes
from lianfang.core.facts import Overdue, RoundStatusFact
from lianfang.screening.models import RecheckTask, RoundStatus, Sample, TaskKind, TaskStatus, TubeState
from lianfang.screening.selectors import SCREENING, rounds_visible, start_cutoff
from lianfang.screening.selectors.pools import _overdue_q

_LEVEL = {
    status.ABNORMAL: "danger",
    status.UNTESTED: "warn",
    status.INVALID: "warn",
    status.PENDING: "info",
    status.NEGATIVE: "ok",
    "exempt": "info",
}


def _label(state: str) -> str:
    if state == status.UNTESTED:
        return _("未检")
    if state == "exempt":
        return _("豁免")
    return str(TubeState(state).label)


def round_status(*, actor: Actor, people: list) -> tuple[str, dict[int, RoundStatusFact]]:
    """The status of ``people`` (already scoped to the actor) in the latest open round the actor
    sees, by FORMATS.md's rules: the best of their screening tubes' results; else untested, or
    exempt under the round's age. One query for the round, one for the listed people's samples."""
    rnd = rounds_visible(actor=actor).filter(status=RoundStatus.OPEN).first()
    if rnd is None or not people:
        return "", {}
    states: dict[int, list[str]] = defaultdict(list)
    for person_id, state in Sample.objects.filter(
        round=rnd, person_id__in=[p.pk for p in people], tube__purpose=SCREENING
    ).values_list("person_id", "tube__state"):
        states[person_id].append(state)
    cutoff = start_cutoff(rnd)
    out = {}
    for p in people:
        expected = p.registered and p.community_id and codes.covered(p.community_id, rnd.scope)
        if p.pk not in states and not expected:
            continue  # not sampled and not expected: the round says nothing about them
        exempt = p.birth_date is not None and p.birth_date > cutoff
        state = status.person_status_of(states.get(p.pk, ()), exempt=exempt) or "exempt"
        out[p.pk] = RoundStatusFact(status=state, label=_label(state), level=_LEVEL[state])
    return rnd.code, out


def overdue_rechecks(actor: Actor | None, at: dt.datetime | None = None) -> list[Overdue]:
    """``"overdue.screening"``: re-check and re-sample tasks past their clock (to be sampled by
    ``due_sample_at``, to have a result by ``due_result_at``) that ``actor`` may see (None: all).

    As things stand (``at`` None) the task's status decides, exactly as the tasks page's
    "overdue" filter. At an earlier ``at`` the task's times decide: created by then, not closed by
    then, and not sampled by then past ``due_sample_at`` or sampled by then past ``due_result_at``
    (a task re-opened since is read with its new clocks: the model keeps no history of them)."""
    now = timezone.now()
    tasks = (
        RecheckTask.objects.visible_to(actor) if actor is not None else RecheckTask.objects.dangerously_all()
    )
    if at is None or at >= now:
        at = at or now
        tasks = tasks.filter(_overdue_q(at))
    else:
        not_sampled = Q(sampled_at__isnull=True) | Q(sampled_at__gt=at)
        tasks = tasks.filter(created_at__lte=at).filter(Q(closed_at__isnull=True) | Q(closed_at__gt=at))
        tasks = tasks.filter(
            (not_sampled & Q(due_sample_at__lt=at)) | (~not_sampled & Q(due_result_at__lt=at))
        )
    kinds = dict(TaskKind.choices)
    urls: dict[str, str] = {}
    out = []
    for (
        pk,
        kind,
        status_,
        sampled_at,
        due_sample,
        due_result,
        community,
        name,
        round_code,
    ) in tasks.values_list(
        "id",
        "kind",
        "status",
        "sampled_at",
        "due_sample_at",
        "due_result_at",
        "community_id",
        "person__name",
        "round__code",
    ).iterator(chunk_size=5000):
        sampled = (
            status_ == TaskStatus.SAMPLED if at >= now else (sampled_at is not None and sampled_at <= at)
        )
        if round_code not in urls:
            urls[round_code] = reverse("screening:round_tasks", args=[round_code]) + "?status=overdue"
        out.append(
            Overdue(
                kind=kind,
                label=_("%(kind)s %(name)s（%(round)s，%(step)s）")
                % {
                    "kind": kinds.get(kind, kind),
                    "name": name,
                    "round": round_code,
                    "step": _("待出结果") if sampled else _("待采样"),
                },
                division_code=community,
                due_at=due_result if sampled else due_sample,
                url=urls[round_code],
                ref=f"{kind}:{pk}",
            )
        )
    out.sort(key=lambda o: o.due_at, reverse=True)
    return out
