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
people of the area, exempt = under the edition's exempt age on the round's start day, or in
custody at its start (the ``in_custody_sql`` facts of the apps that hold people), sampled = expected people with a screening sample in the round, status = the
best of their tubes' cached effective results. The status rules and the exempt test are the SQL
expressions of :mod:`lianfang.analytics.status`, which the round report and ``tubes_refresh``
use too; division codes are :mod:`lianfang.core.codes`'s.

The package: :mod:`.rounds` (the list, headline numbers, progress), :mod:`.areas` (areas,
coverage, the untested), :mod:`.pools` (pools, alerts, re-check tasks), :mod:`.labs` (labs and
sites, turnaround, throughput), :mod:`.common` (SQL helpers, the site scoping rule).
"""

from lianfang.screening.selectors.areas import (
    COUNT_KEYS,
    area_division,
    coverage_breakdown,
    coverage_children,
    coverage_totals,
    division_names,
    latest_visits,
    round_area,
    rounds_progress,
    start_cutoff,
    untested_not_visited_by_community,
    untested_people,
)
from lianfang.screening.selectors.common import SCREENING
from lianfang.screening.selectors.labs import (
    TURNAROUND_BUCKET_MINUTES,
    lab_turnaround,
    labs_visible,
    site_throughput,
    sites_visible,
)
from lianfang.screening.selectors.pools import (
    abnormal_pools,
    alert_get,
    alerts_open,
    alerts_open_counts,
    is_overdue,
    pool_detail,
    pool_get,
    pools_visible,
    recheck_tasks,
    sampled_elsewhere,
    task_get,
    task_visible,
    tasks_visible,
)
from lianfang.screening.selectors.rounds import (
    AGE_BUCKETS,
    open_tasks_count,
    results_held_count,
    round_get,
    round_overview,
    round_progress,
    rounds_visible,
    sampled_at_sites,
    tube_counts,
)

__all__ = [
    "AGE_BUCKETS",
    "COUNT_KEYS",
    "SCREENING",
    "TURNAROUND_BUCKET_MINUTES",
    "abnormal_pools",
    "alert_get",
    "alerts_open",
    "alerts_open_counts",
    "area_division",
    "coverage_breakdown",
    "coverage_children",
    "coverage_totals",
    "division_names",
    "is_overdue",
    "lab_turnaround",
    "latest_visits",
    "labs_visible",
    "open_tasks_count",
    "pool_detail",
    "sampled_elsewhere",
    "pool_get",
    "pools_visible",
    "recheck_tasks",
    "results_held_count",
    "round_area",
    "round_get",
    "round_overview",
    "sampled_at_sites",
    "round_progress",
    "rounds_progress",
    "rounds_visible",
    "site_throughput",
    "sites_visible",
    "start_cutoff",
    "task_get",
    "task_visible",
    "tasks_visible",
    "tube_counts",
    "untested_not_visited_by_community",
    "untested_people",
]
