"""The custody reads, each taking the actor (scoping through ``visible_to``)."""

from lianfang.custody.selectors.monitoring import MonitoringRow, monitoring_list, stay_monitoring
from lianfang.custody.selectors.reads import (
    Need,
    incoming,
    needs_transfer,
    person_stays,
    person_transfers,
    place_get,
    place_units,
    places,
    stay_get,
    stay_view,
    stays,
    transfer_get,
    transfers,
)

__all__ = [
    "MonitoringRow",
    "Need",
    "incoming",
    "monitoring_list",
    "needs_transfer",
    "person_stays",
    "person_transfers",
    "place_get",
    "place_units",
    "places",
    "stay_get",
    "stay_monitoring",
    "stay_view",
    "stays",
    "transfer_get",
    "transfers",
]
