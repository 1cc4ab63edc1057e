"""Zone designation regimes (DOMAIN.md §2, FORMATS.md "Zones").

Two regimes: ``community-2022`` (封控区/管控区/防范区, the seed's three zones, used by the
``community-2022`` and ``p8`` editions) and ``p9`` (高/中/低风险区, 9th edition, June 2022).
A regime fixes the zone types, how long a zone must stay clear (``clear_days``), the window of
the all-negative round before a proposal (``round_window_days``), what the proposal does
(``lift_action``), and whether a case found in custody resets a zone's clock.

Not modelled: the 9th edition's text also lets a zone downgraded from high to medium become low
after 3 more clear days; FORMATS.md applies 7 days to every ``p9`` zone, so this follows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ._frozen import FrozenMap, check_verify
from .contacts import ContactMeasure

LIFTED = "lifted"
"""The ``zones.csv`` type that ends a zone, in every regime."""


@dataclass(frozen=True, slots=True)
class ZoneType:
    """One zone type: labels, the measures text, and where a proposal moves it.

    ``next_type``: the type the regime's ``lift_action`` gives (``"lifted"`` for a lift, the
    milder type for a downgrade), ``None`` when it has no proposal of its own.
    ``clock``: lifts on its own clock (clear days + the all-negative round); ``False`` for a zone
    that lifts with its county (``lifts_with_county``) or never by proposal.
    ``upgrade_to``: the type a new infection inside it proposes at once (管控区 → 封控区).
    ``resident_measure``: what a resident found elsewhere is put under (9th edition).
    """

    code: str
    label_zh: str
    label_en: str
    measures_zh: str
    measures_en: str
    next_type: str | None
    clock: bool
    upgrade_to: str | None = None
    lifts_with_county: bool = False
    resident_measure: ContactMeasure | None = None


@dataclass(frozen=True, slots=True)
class ZoneRegime:
    """The zone rules one edition designates under."""

    code: str
    name_zh: str
    name_en: str
    types: Mapping[str, ZoneType]
    clear_days: int
    round_window_days: int
    lift_action: str
    custody_infection_resets: bool
    verify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", FrozenMap(self.types))
        object.__setattr__(self, "verify", tuple(self.verify))
        if self.lift_action not in ("lift", "downgrade"):
            raise ValueError(f"未知的解除方式 / unknown lift_action: {self.lift_action}")
        for code, zone_type in self.types.items():
            targets = {zone_type.next_type, zone_type.upgrade_to} - {None, LIFTED}
            if code != zone_type.code or not targets <= set(self.types):
                raise ValueError(f"区域类型定义不一致 / inconsistent zone type: {code}")
        check_verify(self)

    @property
    def type_codes(self) -> tuple[str, ...]:
        """Zone type codes, strictest first."""
        return tuple(self.types)

    def type(self, code: str) -> ZoneType:
        """The zone type ``code``; a bilingual ``ValueError`` when the regime has no such type."""
        try:
            return self.types[code]
        except (KeyError, TypeError):
            raise ValueError(
                f"未知的区域类型 / unknown zone type for regime {self.code}: {code} "
                f"(known: {', '.join(self.types)})"
            ) from None


COMMUNITY_2022_ZONES = ZoneRegime(
    code="community-2022",
    name_zh="封控区、管控区、防范区",
    name_en="sealed, controlled and precaution zones",
    types={
        "sealed": ZoneType(
            code="sealed",
            label_zh="封控区",
            label_en="sealed zone",
            measures_zh="足不出户、服务上门",
            measures_en="stay home; services at the door",
            next_type=LIFTED,
            clock=True,
        ),
        "controlled": ZoneType(
            code="controlled",
            label_zh="管控区",
            label_en="controlled zone",
            measures_zh="人不出区、严禁聚集",
            measures_en="nobody leaves the zone; no gatherings",
            next_type=LIFTED,
            clock=True,
            upgrade_to="sealed",
        ),
        "precaution": ZoneType(
            code="precaution",
            label_zh="防范区",
            label_en="precaution zone",
            measures_zh="强化社会面管控、严格限制聚集",
            measures_en="tighter social controls; gatherings strictly limited",
            next_type=LIFTED,
            clock=False,
            lifts_with_county=True,
        ),
    },
    clear_days=14,
    round_window_days=2,
    lift_action="lift",
    custody_infection_resets=False,
)

P9_ZONES = ZoneRegime(
    code="p9",
    name_zh="高、中、低风险区",
    name_en="high-, medium- and low-risk zones",
    types={
        "high": ZoneType(
            code="high",
            label_zh="高风险区",
            label_en="high-risk zone",
            measures_zh="足不出户、上门服务",
            measures_en="stay home; services at the door",
            next_type="medium",
            clock=True,
            resident_measure=ContactMeasure(
                measure="central_quarantine", days=7, monitoring_days=0, test_days=(1, 2, 3, 5, 7)
            ),
        ),
        "medium": ZoneType(
            code="medium",
            label_zh="中风险区",
            label_en="medium-risk zone",
            measures_zh="人不出区、错峰取物",
            measures_en="nobody leaves the zone; staggered pick-up",
            next_type="low",
            clock=True,
            resident_measure=ContactMeasure(
                measure="home_quarantine", days=7, monitoring_days=0, test_days=(1, 4, 7)
            ),
        ),
        "low": ZoneType(
            code="low",
            label_zh="低风险区",
            label_en="low-risk zone",
            measures_zh="个人防护、避免聚集",
            measures_en="personal protection; avoid gatherings",
            next_type=None,
            clock=False,
        ),
    },
    clear_days=7,
    round_window_days=1,
    lift_action="downgrade",
    custody_infection_resets=True,
)

ZONE_REGIMES: dict[str, ZoneRegime] = {
    COMMUNITY_2022_ZONES.code: COMMUNITY_2022_ZONES,
    P9_ZONES.code: P9_ZONES,
}


def regime_for_type(zone_type: str) -> ZoneRegime:
    """The regime a ``zones.csv`` type belongs to (FORMATS.md: ``regime`` follows the type)."""
    for regime in ZONE_REGIMES.values():
        if zone_type in regime.types:
            return regime
    known = ", ".join(code for regime in ZONE_REGIMES.values() for code in regime.types)
    raise ValueError(f"未知的区域类型 / unknown zone type: {zone_type} (known: {known})")
