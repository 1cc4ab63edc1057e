"""Writes of the screening work: rounds, sites and labs, samples and results, re-check tasks.

Samples and results from every path — a file on the command line, a web upload, a device's API
request — go through :func:`samples_import` and :func:`results_import`: the same rules
(:mod:`lianfang.screening.rules`), the same summary, one transaction. After each batch the tubes
it touched are brought up to date (:func:`tubes_refresh`): their effective result, the alert of
an abnormal pool (一键即报), the re-check tasks of its members, and the closing of re-check tasks
whose single tube got its result.

Every service checks the actor's role itself (:mod:`.errors`): ``actor`` None is the server's
authority (the CLI, loaders); the API and the pages only translate a refusal.

The package, along its seams:

* :mod:`.errors` — refusals and the role check;
* :mod:`.rounds` — opening and closing rounds;
* :mod:`.reference` — sites, labs and device tokens;
* :mod:`.ingest` — what samples and results share: batch sizes, locks, temporary tables, chunks;
* :mod:`.samples` — samples and their writers (people sampled but not in the registry are
  created by ``people.services.persons_create_unregistered``);
* :mod:`.results` — lab results; :mod:`.boxes` — transport boxes handed over;
* :mod:`.followup` — tube states, alerts, re-check tasks and their closing, the positive hand-off;
* :mod:`.visits` — door visits (入户走访) to the people of a round's untested list.

The batch sizes (``BIG_BATCH``, ``SMALL_BATCH``, ``CHUNK_ROWS``, ``_IN_LIST``) are not re-exported
here: a test shrinks them in the module that reads them (:mod:`.ingest`, :mod:`.samples`).
"""

from lianfang.screening.services.boxes import box_handover
from lianfang.screening.services.errors import NotFound, NotPermitted, OutsideJurisdiction, ScreeningError
from lianfang.screening.services.followup import (
    SAMPLE_TIME_TOLERANCE,
    alert_acknowledge,
    recheck_sample_register,
    tubes_refresh,
)
from lianfang.screening.services.ingest import Progress
from lianfang.screening.services.reference import device_token_issue, labs_import, labs_writable, sites_import
from lianfang.screening.services.results import results_import
from lianfang.screening.services.rounds import round_close, round_open
from lianfang.screening.services.samples import samples_import
from lianfang.screening.services.visits import door_visit_record

__all__ = [
    "NotFound",
    "NotPermitted",
    "OutsideJurisdiction",
    "Progress",
    "SAMPLE_TIME_TOLERANCE",
    "ScreeningError",
    "alert_acknowledge",
    "box_handover",
    "device_token_issue",
    "door_visit_record",
    "labs_import",
    "labs_writable",
    "recheck_sample_register",
    "results_import",
    "round_close",
    "round_open",
    "samples_import",
    "sites_import",
    "tubes_refresh",
]
