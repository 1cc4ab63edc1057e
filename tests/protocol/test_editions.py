"""The editions as data: lookup, values, immutability, the verify flags."""

from __future__ import annotations

import dataclasses
import json
import pickle
from collections.abc import Mapping

import pytest

from lianfang.protocol import (
    CATEGORIES,
    DEFAULT_EDITION,
    EDITIONS,
    Protocol,
    UnknownEdition,
    as_dict,
    edition,
    editions,
)


def test_lookup_and_default():
    assert DEFAULT_EDITION == "p9"
    assert set(EDITIONS) == {"p9", "p8", "community-2022"}
    assert all(isinstance(p, Protocol) and p.code == code for code, p in EDITIONS.items())
    assert edition("p8") is EDITIONS["p8"]
    assert edition(" P9 ") is EDITIONS["p9"]
    assert [p.code for p in editions()] == ["community-2022", "p8", "p9"]


def test_unknown_edition_message_is_bilingual():
    with pytest.raises(UnknownEdition) as caught:
        edition("p10")
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == "p10"
    assert (
        str(caught.value)
        == "未知的防控方案版本 / unknown protocol edition: p10 (known: p8, p9, community-2022)"
    )


@pytest.mark.parametrize("code", sorted(EDITIONS))
def test_every_protocol_is_frozen(code):
    protocol = EDITIONS[code]
    with pytest.raises(dataclasses.FrozenInstanceError):
        protocol.code = "mine"
    for section in ("screening", "tracing", "transfer", "treatment", "command", "zones", "contacts"):
        part = getattr(protocol, section)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(part, dataclasses.fields(part)[0].name, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        protocol.contacts["close"].days = 1
    with pytest.raises(TypeError):
        protocol.screening.pool_sizes["5"] = 6
    with pytest.raises(TypeError):
        protocol.tracing.venue_buffer_minutes["market"] = 0
    with pytest.raises(TypeError):
        protocol.zones.types["sealed"] = None
    assert EDITIONS[code].code == code


@pytest.mark.parametrize("code", sorted(EDITIONS))
def test_protocol_is_a_value(code):
    protocol = EDITIONS[code]
    assert hash(protocol) == hash(dataclasses.replace(protocol))
    assert pickle.loads(pickle.dumps(protocol)) == protocol
    local = dataclasses.replace(protocol, code="quanzhou", zones="p9")
    assert local.zone_regime == "p9" and local != protocol


def test_screening_values():
    p9, p8, community = (edition(c).screening for c in ("p9", "p8", "community-2022"))
    assert dict(p9.pool_sizes) == {"single": 1, "household": None, "5": 5, "10": 10, "20": 20}
    assert "20" not in p8.pool_sizes and "20" not in community.pool_sizes
    assert p9.sample_pool_sizes == p8.sample_pool_sizes == community.sample_pool_sizes == (1, 5, 10, 20)
    assert (p9.round_hours, p9.exempt_under_years, p9.negative_proof_hours, p9.min_rounds) == (24, 2, 48, 3)
    assert (p9.recheck_arrive_hours, p9.recheck_result_hours, p9.result_target_hours) == (2, 6, 6)
    assert p9.sites_for(8000) == (3, 4) and p9.desks_for(8000) == (10, 14) and p9.samplers_for(8000) == 23
    assert {"recheck_arrive_hours", "recheck_result_hours"} <= set(p9.verify)


def test_tracing_transfer_and_command_values():
    p9 = edition("p9")
    t = p9.tracing
    assert (t.positive_report_hours, t.core_trace_hours, t.trace_report_hours) == (2, 4, 24)
    assert (t.onset_lookback_days, t.companion_cell_m, t.companion_codwell_minutes) == (4, 800, 10)
    assert (t.companion_lookback_days, t.companion_cumulative_hours) == (14, None)
    assert (t.venue_buffer("banquet"), t.venue_buffer("karaoke"), t.venue_buffer(None)) == (120, 30, 30)
    assert (p9.transfer.hours_for("close"), p9.transfer.hours_for("secondary")) == (8, 12)
    assert p9.transfer.hours_for("general") is None
    assert (p9.command.problem_fix_hours, p9.command.directive_ack_hours) == (24, 2)
    assert p9.command.escalate_after_hours == 24
    assert p9.command.untested_visit_hours == 12 and p9.is_verify("command.untested_visit_hours")
    with pytest.raises(ValueError, match="untested_visit_hours must be at least 1: 0"):
        dataclasses.replace(p9.command, untested_visit_hours=0)
    assert p9.is_verify("command.directive_ack_hours") and not p9.is_verify("command.problem_fix_hours")


@pytest.mark.parametrize("code", sorted(EDITIONS))
def test_contact_strictness(code):
    contacts = EDITIONS[code].contacts
    assert contacts.strictness == CATEGORIES == ("close", "secondary", "companion", "venue", "general")
    assert list(contacts) == list(CATEGORIES)
    assert contacts.strictest(["venue", "secondary", "general"]) == "secondary"
    with pytest.raises(ValueError, match="unknown contact category: friend"):
        contacts.strictest(["close", "friend"])


def test_p8_marks_its_uncertain_contact_values():
    p8 = edition("p8")
    assert p8.is_verify("contacts.close.test_days")
    assert not edition("p9").is_verify("contacts.close.test_days")


def _resolve(root, path):
    value = root
    for part in path.split("."):
        value = value[part] if isinstance(value, Mapping) and part in value else getattr(value, part)
    return value


@pytest.mark.parametrize("code", sorted(EDITIONS))
def test_every_verify_path_names_a_value(code):
    protocol = EDITIONS[code]
    paths = protocol.verify_paths()
    assert "tracing.venue_buffer_minutes" in paths and "transfer.close_contact_hours" in paths
    for path in paths:
        _resolve(protocol, path)  # AttributeError / KeyError if a flag names nothing


def test_a_verify_flag_must_name_a_field():
    screening = edition("p9").screening
    with pytest.raises(ValueError, match="verify names unknown fields of Screening: round_hour"):
        dataclasses.replace(screening, verify=("round_hour",))


@pytest.mark.parametrize("code", sorted(EDITIONS))
def test_as_dict_is_json(code):
    data = json.loads(json.dumps(as_dict(EDITIONS[code]), ensure_ascii=False))
    assert data["code"] == code and data["zone_regime"] == EDITIONS[code].zone_regime
    assert data["contacts"]["measures"]["close"]["test_days"] == list(
        EDITIONS[code].contacts["close"].test_days
    )
    assert data["issued"] == EDITIONS[code].issued.isoformat()
