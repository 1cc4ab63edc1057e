"""Zone regimes (DOMAIN.md §2, FORMATS.md "Zones")."""

from __future__ import annotations

import pytest

from lianfang.protocol import EDITIONS, ZONE_REGIMES, edition, regime_for_type


def test_each_edition_reaches_its_regime():
    assert {code: p.zone_regime for code, p in EDITIONS.items()} == {
        "p9": "p9",
        "p8": "community-2022",
        "community-2022": "community-2022",
    }
    for protocol in EDITIONS.values():
        assert protocol.zones is ZONE_REGIMES[protocol.zone_regime]


def test_community_2022_regime():
    regime = ZONE_REGIMES["community-2022"]
    assert regime.type_codes == ("sealed", "controlled", "precaution")
    assert [regime.type(c).label_zh for c in regime.type_codes] == ["封控区", "管控区", "防范区"]
    assert regime.type("sealed").measures_zh == "足不出户、服务上门"
    assert regime.type("controlled").measures_zh == "人不出区、严禁聚集"
    assert regime.type("precaution").measures_zh == "强化社会面管控、严格限制聚集"
    assert (regime.clear_days, regime.round_window_days, regime.lift_action) == (14, 2, "lift")
    assert regime.custody_infection_resets is False
    assert [c for c in regime.type_codes if regime.type(c).upgrade_to] == ["controlled"]
    assert regime.type("controlled").upgrade_to == "sealed"
    assert regime.type("precaution").lifts_with_county and not regime.type("precaution").clock


def test_p9_regime():
    regime = edition("p9").zones
    assert regime.type_codes == ("high", "medium", "low")
    assert [regime.type(c).label_zh for c in regime.type_codes] == ["高风险区", "中风险区", "低风险区"]
    assert (regime.clear_days, regime.round_window_days, regime.lift_action) == (7, 1, "downgrade")
    assert regime.custody_infection_resets is True
    assert [regime.type(c).next_type for c in regime.type_codes] == ["medium", "low", None]
    high, medium = regime.type("high").resident_measure, regime.type("medium").resident_measure
    assert (high.measure, high.days, high.test_days) == ("central_quarantine", 7, (1, 2, 3, 5, 7))
    assert (medium.measure, medium.days, medium.test_days) == ("home_quarantine", 7, (1, 4, 7))
    assert regime.type("low").resident_measure is None


def test_regime_follows_the_zone_type():
    assert regime_for_type("controlled").code == "community-2022"
    assert regime_for_type("medium").code == "p9"
    with pytest.raises(ValueError, match="unknown zone type: orange"):
        regime_for_type("orange")
    with pytest.raises(ValueError, match="unknown zone type for regime p9: sealed"):
        ZONE_REGIMES["p9"].type("sealed")
