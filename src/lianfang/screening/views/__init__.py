"""Pages of the mass-screening work: rounds, their coverage down to the untested list, abnormal
pools and their re-check tasks, sites and labs, uploads.

Thin, like :mod:`lianfang.web.views`: read through :mod:`lianfang.screening.selectors` with the
request's actor, write through :mod:`lianfang.screening.services`, render, and audit every access
to personal data (untested lists and their exports, pool members, task lists with names).

Who may do what is checked by the services (a refusal is a 403 here); the pages ask the same
verbs only to show or hide their forms, and to refuse an upload before storing it (the import
runs later, as a task, through the same services). Every view is marked ``@scoped``.

The package, along its seams:

* :mod:`.rounds` — the list and opening a round, a round's page, its alerts, closing, uploads;
* :mod:`.areas` — coverage of a division, the untested list (door visits) and its export;
* :mod:`.pools` — one pool and its members; :mod:`.tasks` — re-check tasks and their tubes;
* :mod:`.reference` — sites and labs and the uploads of their lists;
* :mod:`.common` — the round lookup, times in forms, uploads as jobs, task rows, charts.
"""

from lianfang.screening.views.areas import door_visit, round_area, untested_export
from lianfang.screening.views.pools import pool, sampled_elsewhere
from lianfang.screening.views.reference import labs, sites
from lianfang.screening.views.rounds import (
    alert_ack,
    round_alerts,
    round_close_view,
    round_detail,
    round_list,
    round_upload,
)
from lianfang.screening.views.tasks import task_list, task_sample

__all__ = [
    "alert_ack",
    "door_visit",
    "labs",
    "pool",
    "round_alerts",
    "round_area",
    "round_close_view",
    "round_detail",
    "round_list",
    "round_upload",
    "sampled_elsewhere",
    "sites",
    "task_list",
    "task_sample",
    "untested_export",
]
