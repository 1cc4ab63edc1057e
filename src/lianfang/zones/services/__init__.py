"""The writes of the zones app; each checks the actor's verb and authority first."""

from lianfang.zones.services.designation import zone_change_record, zone_designate, zones_import
from lianfang.zones.services.errors import ZoneError
from lianfang.zones.services.proposals import proposal_reject, proposal_sign, proposals_refresh

__all__ = [
    "ZoneError",
    "proposal_reject",
    "proposal_sign",
    "proposals_refresh",
    "zone_change_record",
    "zone_designate",
    "zones_import",
]
