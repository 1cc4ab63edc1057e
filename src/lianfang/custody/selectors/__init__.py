"""The custody reads, each taking the actor (scoping through ``visible_to``)."""

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
    "Need",
    "incoming",
    "needs_transfer",
    "person_stays",
    "person_transfers",
    "place_get",
    "place_units",
    "places",
    "stay_get",
    "stay_view",
    "stays",
    "transfer_get",
    "transfers",
]
