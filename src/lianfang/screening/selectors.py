"""Reads of the screening work for the pages: a round as one actor sees it.

Every function takes the actor. Two scoping rules, both inside the actor's jurisdiction:

* **People** (expected, exempt, sampled, untested, coverage) are counted over the round's *area*
  for the actor: the round's scope intersected with the actor's division codes
  (:func:`round_area`). A county user of a city-wide round sees their county's people only.
* **Tubes and samples** (progress over time, pending tubes, lab turnaround, site throughput) are
  counted by the *sampling site*: sites inside the actor's jurisdiction. A site's work for the
  round counts even when the site stands just outside the round's scope.
* **Pools, alerts and re-check tasks** are seen when the pool's site is in the jurisdiction or
  one of its members' re-check task is (an abnormal pool must never be missed because its site is
  across a border); tasks themselves follow ``RecheckTask.objects.visible_to``.

Everything heavy is one SQL aggregate (GROUP BY in the database, a bounded number of rows back);
nothing loads a whole table into Python. Coverage follows FORMATS.md's rules, the same as the
round report (:mod:`lianfang.screening.report`), restricted to the area: expected = registered
people of the area, exempt = under 2 on the round's start day (custody is not modelled yet),
sampled = expected people with a screening sample in the round, status = the best of their tubes'
cached effective results.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from lianfang.accounts.scoping import Actor, division_q
from lianfang.analytics.screening import exempt_birth_cutoff
from lianfang.geo.models import LEVEL_OF_LENGTH, Division
from lianfang.people.models import HOME_SAMPLING_TAGS, Person
from lianfang.screening.models import (
    OPEN_TASK_STATUSES,
    Lab,
    PoolAlert,
    RecheckTask,
    Result,
    Round,
    Sample,
    Site,
    TaskStatus,
    Tube,
    TubePurpose,
    TubeState,
)

SCREENING = TubePurpose.SCREENING
# The level below a code of each length (city → counties → towns → communities).
CHILD_LENGTH = {2: 4, 4: 6, 6: 9, 9: 12}
COUNT_KEYS = ("expected", "exempt", "sampled", "negative", "pending", "invalid", "abnormal", "untested")
# Pending tubes by hours since their first sample: label, lower bound (h), upper bound (h).
AGE_BUCKETS = (("<2h", 0, 2), ("2-4h", 2, 4), ("4-6h", 4, 6), (">6h", 6, None))
TURNAROUND_BUCKET_MINUTES = 5


# --- areas -------------------------------------------------------------------------------------


def _outermost(codes: Iterable[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for code in sorted(set(codes), key=len):
        if not any(code.startswith(k) for k in kept):
            kept.append(code)
    return tuple(sorted(kept))


def intersect_codes(a: Iterable[str], b: Iterable[str]) -> tuple[str, ...]:
    """The division codes covered by both sets of prefixes (as the outermost codes)."""
    out = set()
    b = tuple(b)
    for x in a:
        for y in b:
            if x.startswith(y):
                out.add(x)
            elif y.startswith(x):
                out.add(y)
    return _outermost(out)


def round_area(*, rnd: Round, actor: Actor) -> tuple[str, ...]:
    """The round's scope intersected with the actor's jurisdictions."""
    return intersect_codes(rnd.scope, actor.codes)


def round_get(*, actor: Actor, code: str) -> Round | None:
    """The round ``code`` if its scope overlaps the actor's jurisdictions; else None (a 404)."""
    return Round.objects.visible_to(actor).filter(code=code).first()


def rounds_visible(*, actor: Actor) -> QuerySet[Round]:
    return Round.objects.visible_to(actor).order_by("-starts_at", "code")


def start_cutoff(rnd: Round) -> dt.date:
    """People born after this day are under 2 on the round's start day (exempt)."""
    return exempt_birth_cutoff(
        timezone.localtime(rnd.starts_at).date(), rnd.protocol.screening.exempt_under_years
    )


# --- SQL helpers (both SQLite and PostgreSQL) ---------------------------------------------------


def _t(model) -> str:
    return model._meta.db_table


def _codes_where(codes: Iterable[str], alias: str) -> tuple[str, list]:
    """``alias`` (a person or a site: county_code, town_code, community_id) lies inside ``codes``."""
    parts, params = [], []
    for code in codes:
        column = {6: "county_code", 9: "town_code", 12: "community_id"}.get(len(code))
        if column:
            parts.append(f"{alias}.{column} = %s")
            params.append(code)
        else:
            parts.append(f"{alias}.county_code LIKE %s")
            params.append(code + "%")
    return "(" + " OR ".join(parts or ["1 = 0"]) + ")", params


def _hour(column: str) -> str:
    """The UTC hour of a timestamp column as text ``YYYY-MM-DD HH`` (Shanghai is a whole +8 h)."""
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
    return f"substr({column}, 1, 13)"


def _minutes(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 60.0)"
    return f"((julianday({later}) - julianday({earlier})) * 1440.0)"


def _floor_int(expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR({expr}) AS INTEGER)"
    return f"CAST({expr} AS INTEGER)"  # only used on non-negative values: truncation is floor


def _hour_start(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H").replace(tzinfo=dt.UTC)


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


# --- coverage ----------------------------------------------------------------------------------

# A sample's rank (3 abnormal, 2 negative, 1 invalid, 0 pending; NULL: no screening tube): a
# person's status is the maximum over their tubes, as in the round report.
_RANK = (
    f"CASE WHEN t.id IS NULL THEN NULL WHEN t.state = '{TubeState.ABNORMAL}' THEN 3 "
    f"WHEN t.state = '{TubeState.NEGATIVE}' THEN 2 WHEN t.state = '{TubeState.INVALID}' THEN 1 ELSE 0 END"
)


def _coverage_sql(rnd: Round, area: tuple[str, ...], group: str | None) -> tuple[str, list]:
    """One aggregate over the registered people of ``area``; grouped by ``group`` (a person column).

    Driven from the people of the area (their indexed division columns), each joined to their own
    samples of the round through the person index: a community costs a few index lookups, a city
    one pass. ``+s.round_id`` keeps SQLite from picking the round index for that join instead.
    """
    where, where_params = _codes_where(area, "p")
    cutoff = connection.ops.adapt_datefield_value(start_cutoff(rnd))
    inner_group = f", p.{group}" if group else ""
    sql = (
        f"SELECT {'x.g' if group else '%s'}, COUNT(*), "
        "SUM(CASE WHEN x.bd > %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk = 2 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk = 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk = 1 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk = 3 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk IS NULL AND (x.bd IS NULL OR x.bd <= %s) THEN 1 ELSE 0 END) "
        f"FROM (SELECT p.id, p.birth_date AS bd{f', p.{group} AS g' if group else ''}, MAX({_RANK}) AS rnk "
        f"FROM {_t(Person)} p LEFT JOIN {_t(Sample)} s ON s.person_id = p.id AND +s.round_id = %s "
        f"LEFT JOIN {_t(Tube)} t ON t.id = s.tube_id AND t.purpose = %s "
        f"WHERE p.registered AND {where} GROUP BY p.id, p.birth_date{inner_group}) x"
    )
    if group:
        sql += " GROUP BY x.g"
    key_params = [] if group else [rnd.pk]
    return sql, [*key_params, cutoff, cutoff, rnd.pk, SCREENING, *where_params]


def _counts(row: Iterable) -> dict:
    counts = {k: int(v or 0) for k, v in zip(COUNT_KEYS, row, strict=True)}
    counts["coverage"] = _ratio(counts["sampled"], counts["expected"])
    counts["coverage_pct"] = round(counts["coverage"] * 100, 1)
    return counts


def _zero() -> dict:
    return _counts([0] * len(COUNT_KEYS))


def _sum(rows: Iterable[dict]) -> dict:
    total = dict.fromkeys(COUNT_KEYS, 0)
    for row in rows:
        for k in COUNT_KEYS:
            total[k] += row[k]
    return _counts([total[k] for k in COUNT_KEYS])


def coverage_totals(*, rnd: Round, actor: Actor, within: str | None = None) -> dict:
    """People counts of the round over the actor's area (or the part of it inside ``within``)."""
    area = round_area(rnd=rnd, actor=actor)
    if within:
        area = intersect_codes(area, (within,))
    if not area:
        return _zero()
    sql, params = _coverage_sql(rnd, area, None)
    row = _rows(sql, params)[0]
    return _counts(row[1:])


def rounds_progress(*, rounds: list[Round], actor: Actor) -> dict[int, dict]:
    """People counts of several rounds over each one's area for the actor, in one query."""
    parts, params = [], []
    for rnd in rounds:
        area = round_area(rnd=rnd, actor=actor)
        if area:
            sql, p = _coverage_sql(rnd, area, None)
            parts.append(sql)
            params.extend(p)
    out = {rnd.pk: _zero() for rnd in rounds}
    if parts:
        for row in _rows(" UNION ALL ".join(parts), params):
            out[int(row[0])] = _counts(row[1:])
    return out


def coverage_breakdown(*, rnd: Round, actor: Actor, parent: str | None = None) -> tuple[list[dict], dict]:
    """Coverage of the divisions one level below ``parent`` (counties when None) within the area,
    and the totals over that part of the area — one GROUP BY query.

    One row per child division overlapping the area (those with nobody registered included):
    ``code``, ``name``, ``partial`` (only part of it is in the area) and the counts. Below a
    community there are no rows; the totals are then the community's.
    """
    area = round_area(rnd=rnd, actor=actor)
    if parent:
        area = intersect_codes(area, (parent,))
    if not area:
        return [], _zero()
    length = CHILD_LENGTH.get(len(parent), 0) if parent else 6
    if not length:
        sql, params = _coverage_sql(rnd, area, None)
        return [], _counts(_rows(sql, params)[0][1:])
    q = Q()
    for code in area:
        q |= Q(code=code[:length]) if len(code) >= length else Q(code__startswith=code)
    children = list(
        Division.objects.filter(q, level=LEVEL_OF_LENGTH[length]).order_by("code").values_list("code", "name")
    )
    # A city's children (4 digits) are summed up from counties.
    group = {9: "town_code", 12: "community_id"}.get(length, "county_code")
    sql, params = _coverage_sql(rnd, area, group)
    by_code: dict[str, dict] = {}
    for row in _rows(sql, params):
        code = (row[0] or "")[:length]
        by_code[code] = _sum([by_code.get(code, _zero()), _counts(row[1:])])
    rows = [
        {
            "code": code,
            "name": name,
            "partial": not any(code.startswith(a) for a in area),
            **by_code.get(code, _zero()),
        }
        for code, name in children
    ]
    return rows, _sum(by_code.values())


def coverage_children(*, rnd: Round, actor: Actor, parent: str | None = None) -> list[dict]:
    """The rows of :func:`coverage_breakdown`."""
    return coverage_breakdown(rnd=rnd, actor=actor, parent=parent)[0]


# --- tubes, samples and results -----------------------------------------------------------------


def _site_where(actor: Actor, alias: str = "st") -> tuple[str, list]:
    return _codes_where(actor.codes, alias)


def _site_q(actor: Actor, prefix: str = "site__") -> Q:
    return division_q(
        actor.codes,
        county=f"{prefix}county_code",
        town=f"{prefix}town_code",
        community=f"{prefix}community_id",
    )


def _pool_q(actor: Actor) -> Q:
    """A tube whose site, or one of whose members' re-check tasks, lies in the actor's jurisdiction."""
    tasks = RecheckTask.objects.visible_to(actor).values("tube_id")
    return _site_q(actor) | Q(pk__in=tasks)


def _alerts_q(actor: Actor) -> Q:
    """The same rule as :func:`_pool_q`, for an alert (through its tube)."""
    tasks = RecheckTask.objects.visible_to(actor).values("tube_id")
    return _site_q(actor, "tube__site__") | Q(tube_id__in=tasks)


def tube_counts(*, rnd: Round, actor: Actor, now: dt.datetime | None = None) -> dict:
    """Screening tubes of the round at the actor's sites: totals by state, pending ones by age."""
    now = now or timezone.now()
    pending = Q(state=TubeState.PENDING)
    aggregates = {
        "tubes": Count("id"),
        "pending": Count("id", filter=pending),
        "negative": Count("id", filter=Q(state=TubeState.NEGATIVE)),
        "invalid": Count("id", filter=Q(state=TubeState.INVALID)),
        "abnormal": Count("id", filter=Q(state=TubeState.ABNORMAL)),
    }
    for label, low, high in AGE_BUCKETS:
        q = pending & Q(first_collected_at__lte=now - dt.timedelta(hours=low))
        if high is not None:
            q &= Q(first_collected_at__gt=now - dt.timedelta(hours=high))
        aggregates[f"age_{label}"] = Count("id", filter=q)
    if not actor.codes:  # division_q of no codes would match everything
        return {"tubes": 0, "pending": 0, "negative": 0, "invalid": 0, "abnormal": 0, "ages": []}
    out = Tube.objects.filter(round=rnd, purpose=SCREENING).filter(_site_q(actor)).aggregate(**aggregates)
    out["ages"] = [(label, out.pop(f"age_{label}")) for label, _, _ in AGE_BUCKETS]
    return out


def results_held_count() -> int:
    """Result rows whose tube is not registered yet, across all rounds (labs report, tubes follow)."""
    return Result.objects.filter(~Exists(Tube.objects.filter(barcode=OuterRef("tube_barcode")))).count()


def open_tasks_count(*, rnd: Round, actor: Actor) -> int:
    return RecheckTask.objects.visible_to(actor).filter(round=rnd).open().count()


def round_overview(*, rnd: Round, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The headline numbers of the round page, with the coverage rows by county (``counties``)."""
    counties, people = coverage_breakdown(rnd=rnd, actor=actor)
    tubes = tube_counts(rnd=rnd, actor=actor, now=now)
    return {
        **people,
        "counties": counties,
        "tubes": tubes,
        "pending_tubes": tubes["pending"],
        "open_tasks": open_tasks_count(rnd=rnd, actor=actor),
        "results_held": results_held_count(),
    }


def round_progress(*, rnd: Round, actor: Actor) -> dict:
    """Per-hour series at the actor's sites: people sampled, people and tubes with a result."""
    where, params = _site_where(actor)
    base = (
        f"FROM {_t(Sample)} s JOIN {_t(Tube)} t ON t.id = s.tube_id JOIN {_t(Site)} st ON st.id = t.site_id "
        f"WHERE s.round_id = %s AND t.purpose = %s AND {where}"
    )
    sampled = _rows(
        f"SELECT {_hour('s.collected_at')} AS h, COUNT(*) {base} GROUP BY {_hour('s.collected_at')}",
        [rnd.pk, SCREENING, *params],
    )
    resulted = _rows(
        f"SELECT {_hour('t.resulted_at')} AS h, COUNT(*), COUNT(DISTINCT t.id) {base} "
        f"AND t.resulted_at IS NOT NULL GROUP BY {_hour('t.resulted_at')}",
        [rnd.pk, SCREENING, *params],
    )

    def cumulate(rows: list[tuple], index: int) -> list[tuple[dt.datetime, int]]:
        total, out = 0, []
        for row in sorted(rows, key=lambda r: r[0]):
            total += int(row[index])
            out.append((_hour_start(row[0]), total))
        return out

    return {
        "sampled": cumulate(sampled, 1),
        "resulted": cumulate(resulted, 1),
        "tubes_per_hour": [(_hour_start(r[0]), int(r[2])) for r in sorted(resulted, key=lambda r: r[0])],
    }


def _percentile(histogram: list[tuple[int, int]], total: int, p: float) -> float | None:
    """Nearest-rank percentile (minutes, the upper edge of its bucket) of a sorted histogram."""
    if not total:
        return None
    rank = max(1, math.ceil(p * total))
    seen = 0
    for bucket, count in histogram:
        seen += count
        if seen >= rank:
            return float((bucket + 1) * TURNAROUND_BUCKET_MINUTES)
    return float((histogram[-1][0] + 1) * TURNAROUND_BUCKET_MINUTES)


def lab_turnaround(*, rnd: Round, actor: Actor) -> list[dict]:
    """Per lab: tubes reported, p50 / p90 hours from first sample to the lab's first report, on time share.

    Percentiles come from a histogram of 5-minute buckets computed in the database (exact to the
    bucket), so no per-tube row leaves it.
    """
    where, params = _site_where(actor)
    target_minutes = float(settings.LIANFANG_TURNAROUND_TARGET_HOURS) * 60
    minutes = _minutes("MIN(r.reported_at)", "t.first_collected_at")
    rows = _rows(
        f"SELECT lab_id, bucket, COUNT(*), SUM(on_time) FROM ("
        f"SELECT lab_id, {_floor_int(f'm / {TURNAROUND_BUCKET_MINUTES}')} AS bucket, "
        "CASE WHEN m <= %s THEN 1 ELSE 0 END AS on_time FROM ("
        "SELECT lab_id, CASE WHEN d < 0 THEN 0 ELSE d END AS m FROM ("
        f"SELECT r.lab_id AS lab_id, {minutes} AS d FROM {_t(Result)} r "
        f"JOIN {_t(Tube)} t ON t.barcode = r.tube_barcode JOIN {_t(Site)} st ON st.id = t.site_id "
        f"WHERE t.round_id = %s AND t.purpose = %s AND {where} "
        "GROUP BY r.lab_id, t.id, t.first_collected_at) a) b) c GROUP BY lab_id, bucket",
        [target_minutes, rnd.pk, SCREENING, *params],
    )
    by_lab: dict[int, list[tuple[int, int, int]]] = {}
    for lab_id, bucket, count, on_time in rows:
        by_lab.setdefault(lab_id, []).append((int(bucket), int(count), int(on_time or 0)))
    labs = {
        pk: (code, name)
        for pk, code, name in Lab.objects.filter(pk__in=by_lab).values_list("pk", "code", "name")
    }
    out = []
    for lab_id, buckets in by_lab.items():
        buckets.sort()
        total = sum(c for _, c, _ in buckets)
        on_time = sum(o for _, _, o in buckets)
        histogram = [(b, c) for b, c, _ in buckets]
        p50, p90 = _percentile(histogram, total, 0.5), _percentile(histogram, total, 0.9)
        out.append(
            {
                "code": labs.get(lab_id, ("", ""))[0],
                "name": labs.get(lab_id, ("", ""))[1],
                "tubes": total,
                "p50_hours": None if p50 is None else p50 / 60,
                "p90_hours": None if p90 is None else p90 / 60,
                "on_time": on_time,
                "on_time_share": _ratio(on_time, total),
                "late": p90 is not None and p90 > target_minutes,
            }
        )
    return sorted(out, key=lambda r: r["code"])


def site_throughput(*, rnd: Round, actor: Actor, limit: int = 10) -> list[dict]:
    """The busiest sites of the round in the jurisdiction: people and tubes, per active hour, peak hour."""
    where, params = _site_where(actor)
    hour = _hour("s.collected_at")
    rows = _rows(
        "WITH sh AS ("
        f"SELECT t.site_id AS site_id, {hour} AS h, COUNT(*) AS people, "
        f"COUNT(DISTINCT CASE WHEN {_hour('t.first_collected_at')} = {hour} THEN s.tube_id END) AS tubes "
        f"FROM {_t(Sample)} s JOIN {_t(Tube)} t ON t.id = s.tube_id JOIN {_t(Site)} st ON st.id = t.site_id "
        f"WHERE s.round_id = %s AND t.purpose = %s AND {where} GROUP BY t.site_id, {hour}) "
        "SELECT st.code, st.name, st.desks, SUM(sh.people), SUM(sh.tubes), COUNT(*), MAX(sh.people) "
        f"FROM sh JOIN {_t(Site)} st ON st.id = sh.site_id GROUP BY st.id, st.code, st.name, st.desks "
        "ORDER BY SUM(sh.people) DESC, st.code LIMIT %s",
        [rnd.pk, SCREENING, *params, limit],
    )
    return [
        {
            "code": code,
            "name": name,
            "desks": desks,
            "people": int(people),
            "tubes": int(tubes),
            "hours": int(hours),
            "people_per_hour": _ratio(int(people), int(hours)),
            "tubes_per_hour": _ratio(int(tubes), int(hours)),
            "people_per_desk_hour": _ratio(int(people), int(hours) * max(int(desks or 1), 1)),
            "peak_hour_people": int(peak),
        }
        for code, name, desks, people, tubes, hours, peak in rows
    ]


# --- pools, alerts, tasks ----------------------------------------------------------------------


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

    All members are shown when the pool's site is in the actor's jurisdiction (the site sampled
    them); otherwise only the members who live in it.
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
        if site_is_ours or (person.community_id and actor.covers(person.community_id)):
            shown.append((sample, person, tasks.get(person.pk)))
        else:
            hidden += 1
    return {"results": results, "members": shown, "hidden": hidden, "tasks": tasks}


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


# --- people ------------------------------------------------------------------------------------


def untested_people(*, rnd: Round, actor: Actor, code: str, home_only: bool = False) -> QuerySet[Person]:
    """Registered people of the area inside ``code``, not exempt, without a screening sample in the round.

    Sorted like the report's ``untested.csv`` (community, ID number).
    """
    area = intersect_codes(round_area(rnd=rnd, actor=actor), (code,))
    if not area:
        return Person.objects.none()
    # NOT EXISTS (an anti-join), not NOT IN: PostgreSQL runs a NOT IN over a big subquery row by
    # row. ``round_id + 0`` keeps SQLite on the person index for it (the round index scans the round).
    sampled = Sample.objects.alias(in_round=F("round_id") + 0).filter(
        person_id=OuterRef("pk"), in_round=rnd.pk, tube__purpose=SCREENING
    )
    people = (
        Person.objects.visible_to(actor)
        .filter(division_q(area, county="county_code", town="town_code", community="community_id"))
        .filter(registered=True)
        .exclude(birth_date__gt=start_cutoff(rnd))
        .filter(~Exists(sampled))
    )
    if home_only:
        q = Q()
        for tag in sorted(HOME_SAMPLING_TAGS):
            q |= Q(tags__contains=tag)
        people = people.filter(q)
    return people.select_related("community").order_by("community_id", "id_number")


def area_division(*, rnd: Round, actor: Actor, code: str) -> Division | None:
    """The division ``code`` if part of it lies in the round's area for the actor; else None (a 404)."""
    if not intersect_codes(round_area(rnd=rnd, actor=actor), (code,)):
        return None
    return Division.objects.filter(code=code).first()


# --- reference data ----------------------------------------------------------------------------


def sites_visible(*, actor: Actor) -> QuerySet[Site]:
    return Site.objects.visible_to(actor).select_related("community").order_by("code")


def labs_visible(*, actor: Actor) -> QuerySet[Lab]:
    return Lab.objects.visible_to(actor).order_by("code")


def division_names(codes: Iterable[str]) -> dict[str, str]:
    codes = set(codes)
    if not codes:
        return {}
    return dict(Division.objects.filter(code__in=codes).values_list("code", "name"))
