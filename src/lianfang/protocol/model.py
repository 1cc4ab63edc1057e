"""``Protocol``: every value one edition of the rules sets, grouped by section (DESIGN.md
"Protocol as data"). Editions are built in ``editions.py``; a deployment's own edition is
``dataclasses.replace`` of one of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .contacts import ContactRules
from .sections import Command, Livelihood, Screening, Tracing, Transfer, Treatment
from .zones import ZONE_REGIMES, ZoneRegime

SECTIONS = ("screening", "contacts", "tracing", "transfer", "treatment", "zones", "command", "livelihood")


@dataclass(frozen=True, slots=True)
class Protocol:
    """One protocol edition. Identity: ``code``, names, ``issued``, ``source``; then a section per
    working area. ``zones`` is the edition's ``ZoneRegime`` (a regime code is accepted too)."""

    code: str
    name_zh: str
    name_en: str
    issued: dt.date
    source: str
    screening: Screening
    contacts: ContactRules
    tracing: Tracing
    transfer: Transfer
    treatment: Treatment
    zones: ZoneRegime
    command: Command
    livelihood: Livelihood

    def __post_init__(self) -> None:
        if isinstance(self.zones, str):
            if self.zones not in ZONE_REGIMES:
                raise ValueError(
                    f"未知的区域划定方式 / unknown zone regime: {self.zones} (known: {', '.join(ZONE_REGIMES)})"
                )
            object.__setattr__(self, "zones", ZONE_REGIMES[self.zones])
        if not isinstance(self.contacts, ContactRules):
            object.__setattr__(self, "contacts", ContactRules(self.contacts))

    @property
    def zone_regime(self) -> str:
        """The designation regime's code: ``p9`` or ``community-2022``."""
        return self.zones.code

    def verify_paths(self) -> tuple[str, ...]:
        """Dotted names of every value marked *(verify)*: ``screening.recheck_arrive_hours``,
        ``contacts.close.test_days``, ``zones.types.high.resident_measure.test_days``…"""
        paths: list[str] = []
        for name in SECTIONS:
            section = getattr(self, name)
            paths += [f"{name}.{field}" for field in getattr(section, "verify", ())]
        for category, measure in self.contacts.items():
            paths += [f"contacts.{category}.{field}" for field in measure.verify]
        for code, zone_type in self.zones.types.items():
            if zone_type.resident_measure is not None:
                prefix = f"zones.types.{code}.resident_measure"
                paths += [f"{prefix}.{field}" for field in zone_type.resident_measure.verify]
        return tuple(paths)

    def is_verify(self, path: str) -> bool:
        """Whether the value at ``path`` (as in ``verify_paths``) is local practice to verify."""
        return path in self.verify_paths()
