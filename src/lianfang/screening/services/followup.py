"""What follows a batch: tube states, alerts (一键即报), re-check tasks, their closing, positives.

:func:`tubes_refresh` brings the tubes a batch touched up to date with their results; the tubes
that changed raise alerts (abnormal pools), create or close the re-check and re-sample tasks of
their members, and close the tasks whose single tube got its result — a positive single is handed
over to tracing (:class:`PositiveFinding`). The emergency team registers the single tube of a task
(:func:`recheck_sample_register`); the command acknowledges alerts (:func:`alert_acknowledge`).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from django.db import connection, transaction
from django.utils import timezone

from lianfang import protocol
from lianfang.accounts.scoping import Actor
from lianfang.accounts.services import audit_record
from lianfang.analytics import status
from lianfang.core import codes
from lianfang.core.db import temp_table_from_arrow
from lianfang.core.times import as_utc
from lianfang.screening.models import (
    OPEN_TASK_STATUSES,
    PoolAlert,
    PositiveFinding,
    RecheckTask,
    Result,
    Round,
    Sample,
    TaskKind,
    TaskStatus,
    Tube,
    TubePurpose,
    TubeState,
)
from lianfang.screening.services import ingest
from lianfang.screening.services.clock import CLOCK_SKEW, plausible_time
from lianfang.screening.services.errors import ScreeningError, require, require_covers
from lianfang.screening.services.ingest import _chunks, _rows


def tubes_refresh(
    *, tube_ids: list[int] | None = None, barcodes: list[str] | None = None, members_changed: bool = False
) -> None:
    """Bring tubes up to date with their results: state, alert, re-check tasks, task closing.

    The effective result of each tube (FORMATS.md: abnormal if any positive or inconclusive; else
    negative; else invalid; the expressions of :mod:`lianfang.analytics.status`, as in the round
    report) is computed and stored by one ``UPDATE … FROM`` in the database, which
    returns only the tubes whose state or reason changed: a results file of 100 k negative tubes
    moves no tube through Python. ``members_changed``: the tubes got new members, whose tasks are
    due even if the state stays.
    """
    tube, result = Tube._meta.db_table, Result._meta.db_table
    column, keys = ("barcode", list(barcodes)) if barcodes is not None else ("id", list(tube_ids or []))
    if not keys:
        return
    params: list = []
    if len(keys) <= ingest.BIG_BATCH:
        join, where = "", f"WHERE t.{column} IN ({', '.join(['%s'] * len(keys))})"
        params = keys
    else:
        temp_table_from_arrow(
            "refresh_keys",
            pa.table({"k": pa.array(keys, pa.string() if column == "barcode" else pa.int64())}),
        )
        join, where = f"JOIN refresh_keys k ON k.k = t.{column}", ""
    flags = status.result_flags("r.result")
    effective = (
        f"SELECT t.id, {status.tube_state(flags)} AS state, {status.tube_reason(flags)} AS reason, "
        "MIN(r.reported_at) AS resulted_at "
        f"FROM {tube} t {join} JOIN {result} r ON r.tube_barcode = t.barcode {where} GROUP BY t.id"
    )
    returning = f"{tube}.id, {tube}.round_id, {tube}.purpose, {tube}.state, {tube}.reason, {tube}.resulted_at"
    with connection.cursor() as cursor:
        if members_changed and not _rows(
            cursor,
            f"SELECT 1 FROM {tube} t {join} JOIN {result} r ON r.tube_barcode = t.barcode {where} LIMIT 1",
            params,
        ):
            # New members of tubes without any result (the usual scan): nothing to bring up to date.
            if join:
                cursor.execute("DROP TABLE IF EXISTS refresh_keys")
            return
        # An inconclusive pool that a re-run found positive stays abnormal but changes its reason.
        changed = [
            (i, r, purpose, state, reason, as_utc(at))
            for i, r, purpose, state, reason, at in _rows(
                cursor,
                f"UPDATE {tube} SET state = x.state, reason = x.reason, resulted_at = x.resulted_at "
                f"FROM ({effective}) x WHERE {tube}.id = x.id "
                f"AND ({tube}.state <> x.state OR {tube}.reason <> x.reason) RETURNING {returning}",
                params,
            )
        ]
        resync: list[tuple] = []
        if members_changed:
            # Tubes whose result stayed the same still owe their new members a task (abnormal,
            # invalid) or release a re-sample task elsewhere (negative).
            done = {c[0] for c in changed}
            resync = [
                row
                for row in _rows(
                    cursor,
                    f"SELECT t.id, t.round_id, t.state, t.reason FROM {tube} t {join} {where} "
                    f"{'AND' if where else 'WHERE'} t.purpose = '{TubePurpose.SCREENING}' "
                    f"AND t.state <> '{TubeState.PENDING}'",
                    params,
                )
                if row[0] not in done
            ]
        if join:
            cursor.execute("DROP TABLE IF EXISTS refresh_keys")
    if not changed and not resync:
        return
    screening = [c for c in changed if c[2] == TubePurpose.SCREENING]
    checks = [c for c in changed if c[2] != TubePurpose.SCREENING]
    if screening:
        _alerts_raise(screening)
    if screening or resync:
        _tasks_sync([(c[0], c[1], c[3], c[4]) for c in screening] + resync)
    if checks:
        _check_tubes_close(checks)


def _alerts_raise(changed: list[tuple]) -> None:
    """一键即报: every pool that turned abnormal is on the command's alert list at once."""
    now = timezone.now()
    abnormal = {c[0]: c for c in changed if c[3] == TubeState.ABNORMAL}
    if not abnormal:
        return
    have = {
        a.tube_id: a for chunk in _chunks(list(abnormal)) for a in PoolAlert.objects.filter(tube_id__in=chunk)
    }
    PoolAlert.objects.bulk_create(
        [
            PoolAlert(tube_id=i, round_id=c[1], reason=c[4], raised_at=now)
            for i, c in abnormal.items()
            if i not in have
        ]
    )
    for tube_id, alert in have.items():  # inconclusive that a re-run found positive
        if alert.reason != abnormal[tube_id][4]:
            alert.reason = abnormal[tube_id][4]
            alert.save(update_fields=["reason"])


def _protocol_deadlines(now: dt.datetime, edition: str) -> tuple[dt.datetime, dt.datetime]:
    """When the re-check team must have sampled the person, and the single tube's result is due,
    by the protocol edition the round was opened under."""
    rules = protocol.edition(edition).screening
    arrive = dt.timedelta(hours=rules.recheck_arrive_hours)
    result = dt.timedelta(hours=rules.recheck_result_hours)
    return now + arrive, now + arrive + result


def _editions(round_ids) -> dict[int, str]:
    return dict(Round.objects.filter(id__in=list(round_ids)).values_list("id", "edition"))


def _tasks_sync(items: list[tuple[int, int, str, str]]) -> None:
    """Re-check tasks for the members of abnormal tubes, re-sample tasks for invalid ones.

    ``items``: (tube_id, round_id, state, reason) of screening tubes whose result or members
    changed. A member of an invalid tube who also has a negative tube in the round needs nothing;
    an open re-sample task of such a member is closed as not needed when the negative arrives.
    Only the (few) abnormal and invalid tubes and the open re-sample tasks are read: a results
    file of a million negative tubes costs two small queries here. No statement carries more than
    :data:`_IN_LIST` ids (SQLite builds allow 32,766 parameters, PostgreSQL's protocol 65,535).
    """
    flagged = {i for i, _, s, _ in items if s in (TubeState.ABNORMAL, TubeState.INVALID)}
    negative = {i for i, _, s, _ in items if s == TubeState.NEGATIVE}
    round_ids = {r for _, r, _, _ in items}
    now = timezone.now()
    abnormal = [i for i, _, s, _ in items if s == TubeState.ABNORMAL]
    if abnormal:
        # A negative pool re-run positive is no longer the negative that spared its members a
        # re-sample of their invalid tubes: those tubes are brought up to date too.
        for i, r in _invalid_tubes_of_members(abnormal):
            flagged.add(i)
            round_ids.add(r)
    for chunk in _chunks(sorted(flagged)):
        _tasks_create_or_update(chunk, round_ids, now)
    if negative:
        open_resample = RecheckTask.objects.filter(
            round_id__in=round_ids, kind=TaskKind.RESAMPLE, status__in=OPEN_TASK_STATUSES
        )
        tasks = list(open_resample.values_list("id", "tube_id", "person_id", "round_id"))
        if tasks:
            negative_people = _negative_people(round_ids, open_resample.values("person_id"))
            release = [
                i for i, tube, person, rnd in tasks if tube in negative or (person, rnd) in negative_people
            ]
            for chunk in _chunks(release):
                RecheckTask.objects.filter(id__in=chunk).update(status=TaskStatus.NOT_NEEDED, closed_at=now)


def _negative_people(round_ids: set[int], people) -> set[tuple[int, int]]:
    """(person, round) of ``people`` (a subquery of person ids) with a negative screening tube in
    one of the rounds: a negative in another round spares nothing."""
    return set(
        Sample.objects.filter(
            round_id__in=round_ids,
            person_id__in=people,
            tube__state=TubeState.NEGATIVE,
            tube__purpose=TubePurpose.SCREENING,
        ).values_list("person_id", "round_id")
    )


def _invalid_tubes_of_members(tube_ids: list[int]) -> list[tuple]:
    """(id, round_id) of the invalid screening tubes of these tubes' members (any round: bringing a
    tube's tasks up to date again changes nothing that is already right)."""
    tube, sample = Tube._meta.db_table, Sample._meta.db_table
    found: set[tuple] = set()
    with connection.cursor() as cursor:
        for chunk in _chunks(tube_ids):
            found.update(
                _rows(
                    cursor,
                    # The members first (by the tube index), then their tubes (by the person
                    # index): written as a self-join, SQLite walked the samples table for 108 s.
                    f"SELECT DISTINCT t.id, t.round_id FROM {sample} b "
                    f"JOIN {tube} t ON t.id = b.tube_id WHERE b.person_id IN "
                    f"(SELECT a.person_id FROM {sample} a WHERE a.tube_id IN ({', '.join(['%s'] * len(chunk))})) "
                    "AND t.state = %s AND t.purpose = %s",
                    [*chunk, TubeState.INVALID, TubePurpose.SCREENING],
                )
            )
    return sorted(found)


def _tasks_create_or_update(tube_ids: list[int], round_ids: set[int], now: dt.datetime) -> None:
    """The tasks of these abnormal and invalid tubes' members, as their tubes' states want them."""
    tubes = {
        i: (r, state, reason, site_community)
        for i, r, state, reason, site_community in Tube.objects.filter(id__in=tube_ids).values_list(
            "id", "round_id", "state", "reason", "site__community_id"
        )
    }
    members = Sample.objects.filter(tube_id__in=tube_ids)
    negative_people = _negative_people(
        round_ids, members.filter(tube__state=TubeState.INVALID).values("person_id")
    )
    existing = {(t.tube_id, t.person_id): t for t in RecheckTask.objects.filter(tube_id__in=tube_ids)}
    editions = _editions({r for r, *_ in tubes.values()})
    deadlines = {r: _protocol_deadlines(now, e) for r, e in editions.items()}
    create = []
    for tube_id, person_id, person_community in members.values_list(
        "tube_id", "person_id", "person__community_id"
    ):
        round_id, state, reason, site_community = tubes[tube_id]
        task = existing.get((tube_id, person_id))
        wanted = None
        if state == TubeState.ABNORMAL:
            wanted = TaskKind.RECHECK
        elif state == TubeState.INVALID and (person_id, round_id) not in negative_people:
            wanted = TaskKind.RESAMPLE
        if task is None:
            community = person_community or site_community
            if wanted is None or community is None:
                continue
            create.append(
                RecheckTask(
                    round_id=round_id,
                    tube_id=tube_id,
                    person_id=person_id,
                    kind=wanted,
                    reason=reason,
                    community_id=community,
                    town_code=codes.town(community),
                    county_code=codes.county(community),
                    due_sample_at=deadlines[round_id][0],
                    due_result_at=deadlines[round_id][1],
                )
            )
        elif task.status in OPEN_TASK_STATUSES:
            if wanted is None:
                task.status, task.closed_at = TaskStatus.NOT_NEEDED, now
                task.save(update_fields=["status", "closed_at"])
            elif wanted != task.kind or task.reason != reason:
                task.kind, task.reason = wanted, reason
                task.save(update_fields=["kind", "reason"])
        elif task.status == TaskStatus.NOT_NEEDED and wanted is not None:
            # A released re-sample task whose tube turned abnormal (every member is re-checked),
            # or whose member's negative tube was re-run positive (the re-sample is due again).
            task.kind, task.reason, task.status, task.closed_at = wanted, reason, TaskStatus.OPEN, None
            task.due_sample_at, task.due_result_at = deadlines[round_id]
            task.save(
                update_fields=["kind", "reason", "status", "closed_at", "due_sample_at", "due_result_at"]
            )
    RecheckTask.objects.bulk_create(create, batch_size=2000)


def _check_tubes_close(changed: list[tuple]) -> None:
    """A re-check / re-sample tube got its result: close its task, or escalate a positive single.

    Every single tube of a task counts, not only the latest: an inconclusive single that a lab
    re-runs positive after the person was sampled again still escalates the task.
    """
    now = timezone.now()
    by_tube = {c[0]: c for c in changed}
    tubes = [
        tube
        for chunk in _chunks(list(by_tube))
        for tube in Tube.objects.filter(id__in=chunk, task__isnull=False).select_related("task")
    ]
    for tube in tubes:
        task = tube.task
        _, _, _, state, reason, first_at = by_tube[tube.id]
        if task.status in (TaskStatus.POSITIVE, TaskStatus.NOT_NEEDED):
            continue
        if state == TubeState.ABNORMAL and reason == "positive":
            task.status, task.closed_at = TaskStatus.POSITIVE, now
            task.save(update_fields=["status", "closed_at"])
            PositiveFinding.objects.get_or_create(
                task=task,
                defaults={
                    "person_id": task.person_id,
                    "round_id": task.round_id,
                    "tube_barcode": tube.barcode,
                    "sampled_at": tube.first_collected_at,
                    "reported_at": first_at,
                },
            )
        elif tube.id != task.check_tube_id:
            continue  # an earlier attempt: only a positive still matters
        elif state == TubeState.NEGATIVE:
            task.status, task.closed_at = TaskStatus.NEGATIVE, now
            task.save(update_fields=["status", "closed_at"])
        else:  # inconclusive or invalid single: sample the person again
            task.status, task.check_tube, task.sampled_at = TaskStatus.OPEN, None, None
            edition = _editions([task.round_id])[task.round_id]
            task.due_sample_at, task.due_result_at = _protocol_deadlines(now, edition)
            task.save(update_fields=["status", "check_tube", "sampled_at", "due_sample_at", "due_result_at"])


# Kept for callers of the earlier name: the one definition is the clock's (services.clock).
SAMPLE_TIME_TOLERANCE = CLOCK_SKEW


@transaction.atomic
def recheck_sample_register(
    *, actor: Actor | None, task: RecheckTask, barcode: str, sampled_at: dt.datetime | None = None
) -> RecheckTask:
    """The emergency team sampled the person alone: register the single tube against the task.

    ``sampled_at`` (now when None) may not lie more than :data:`CLOCK_SKEW` ahead, nor before
    the task's round started.
    """
    require(actor, "recheck.register")
    require_covers(actor, [task.community_id], what_zh="该复核任务", what_en="this re-check task")
    now = timezone.now()
    start = Round.objects.filter(pk=task.round_id).values_list("starts_at", flat=True).first()
    sampled_at = (
        now
        if sampled_at is None
        else plausible_time(sampled_at, round_start=start, now=now, zh="采样时间", en="sampling time")
    )
    barcode = barcode.strip()
    if not barcode or len(barcode) > 64:
        raise ScreeningError(
            "bad_barcode", "管码不能为空且不超过64个字符", "the tube barcode must be 1-64 characters"
        )
    task = RecheckTask.objects.select_for_update().get(pk=task.pk)
    if task.status != TaskStatus.OPEN:
        raise ScreeningError("task_not_open", "该任务不在待采样状态", "this task is not waiting for a sample")
    if Tube.objects.filter(barcode=barcode).exists():
        raise ScreeningError(
            "tube_exists", f"管码 {barcode} 已被使用", f"tube barcode {barcode} is already in use"
        )
    tube = Tube.objects.create(
        barcode=barcode,
        round_id=task.round_id,
        purpose=task.kind,
        pool_size=1,
        first_collected_at=sampled_at,
        task=task,
    )
    Sample.objects.create(
        tube=tube, person_id=task.person_id, round_id=task.round_id, collected_at=sampled_at
    )
    task.check_tube, task.status, task.sampled_at = tube, TaskStatus.SAMPLED, sampled_at
    task.save(update_fields=["check_tube", "status", "sampled_at"])
    audit_record(
        actor=actor, action="update", object_type="recheck_task", object_id=task.pk, detail={"tube": barcode}
    )
    # A lab may have reported the single tube before it was registered (held): match it now.
    if Result.objects.filter(tube_barcode=barcode).exists():
        tubes_refresh(tube_ids=[tube.id])
        task.refresh_from_db()
    return task


@transaction.atomic
def alert_acknowledge(*, actor: Actor | None, alert: PoolAlert) -> PoolAlert:
    """The command saw the alert of an abnormal pool (一键即报); it leaves the open list."""
    require(actor, "alert.acknowledge")
    # Acknowledging takes the alert off everyone's open list: the pool's site must be the actor's
    # (a county that sees the alert because a member lives there does not sign it off).
    site_community = alert.tube.site.community_id if alert.tube.site_id else None
    require_covers(
        actor, [site_community] if site_community else [], what_zh="该混管的采样点", what_en="the pool's site"
    )
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = timezone.now(), actor.user if actor else None
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit_record(
            actor=actor,
            action="update",
            object_type="pool_alert",
            object_id=alert.pk,
            detail={"acknowledged": True},
        )
    return alert
