"""The daily briefing (FORMATS.md "Daily briefing"): windows by event time around midnight,
conversions, frozen numbers, corrections carried once, unknown facts as null, the CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lianfang.core.facts import CaseFact, PlanFact, ReleaseFact
from lianfang.core.times import SHANGHAI
from lianfang.protocol.plans import Plan
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, LICHENG, rid
from tests.screening.helpers import SAMPLE_HEADER, sample, setup_world, write_csv

CITY = "3505"


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def case(code, *, reported, cls="confirmed", found="screening", community=JJ_COMMUNITY, confirmed=None):
    return CaseFact(
        case_code=code,
        id_type="resident_id",
        id_number=rid("350582", "19800101", code[-3:].rjust(3, "0")),
        community_code=community,
        classification_at_report=cls,
        found_in=found,
        reported_at=t(reported),
        confirmed_at=t(confirmed) if confirmed else None,
    )


def plan(n, *, category, community, registered, ends):
    return PlanFact(
        id_type="resident_id",
        id_number=rid("350502", "19900101", f"{n:03d}"),
        name="某",
        category=category,
        case_code="C1",
        community_code=community,
        registered_at=t(registered),
        upgraded_at=None,
        plan=Plan(
            edition="p9",
            category=category,
            measure="central_quarantine",
            last_exposure_at=t(registered) - dt.timedelta(days=1),
            ends_at=t(ends),
            monitoring_ends_at=t(ends),
            test_days=(),
        ),
    )


def run(cutoff: str, capsys, *extra: str) -> dict:
    from lianfang.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["briefing", "--cutoff", cutoff, "--json", *extra])
    out = capsys.readouterr()
    assert exit_.value.code == 0, out.err
    return json.loads(out.out)


def area(answer: dict, code: str) -> dict:
    return next(a for a in answer["areas"] if a["code"] == code)


@pytest.fixture
def scenario(facts, tmp_path, db):
    """Events at known times around the cutoff 2022-03-26 00:00 (the window 3月25日)."""
    facts.CASES.extend(
        [
            case("C001", reported="2022-03-25 23:59:59"),  # last second of the window
            case(
                "C002",
                reported="2022-03-26 00:00:00",
                cls="asymptomatic",
                found="quarantine",
                community=LC_COMMUNITY,
            ),
            # Asymptomatic on the 24th, unknown community (city only), confirmed on the 25th.
            case(
                "C003",
                reported="2022-03-24 10:00:00",
                cls="asymptomatic",
                found="quarantine",
                community="",
                confirmed="2022-03-25 08:00:00",
            ),
            case("C004", reported="2022-03-25 00:00:00", cls="asymptomatic", found="clinic"),  # first second
            # Converted at the cutoff itself: not in the window of the 25th.
            case(
                "C005",
                reported="2022-03-20 09:00:00",
                cls="asymptomatic",
                found="controlled_area",
                confirmed="2022-03-26 00:00:00",
            ),
        ]
    )
    facts.RELEASES.extend(
        [
            ReleaseFact("resident_id", "X1", "discharged", "C9", LC_COMMUNITY, t("2022-03-25 12:00:00")),
            ReleaseFact("resident_id", "X2", "released", "", LC_COMMUNITY, t("2022-03-25 12:00:00")),
            ReleaseFact("resident_id", "X3", "discharged", "C8", LC_COMMUNITY, t("2022-03-26 00:00:00")),
        ]
    )
    facts.PLANS.extend(
        [
            plan(
                1,
                category="close",
                community=JJ_COMMUNITY,
                registered="2022-03-25 10:00:00",
                ends="2022-03-30 00:00:00",
            ),
            plan(
                2,
                category="close",
                community=JJ_COMMUNITY,
                registered="2022-03-26 00:00:00",
                ends="2022-03-30 00:00:00",
            ),
            plan(
                3,
                category="close",
                community=JJ_COMMUNITY,
                registered="2022-03-19 10:00:00",
                ends="2022-03-26 00:00:00",
            ),
            plan(
                4,
                category="secondary",
                community=LC_COMMUNITY,
                registered="2022-03-25 10:00:00",
                ends="2022-03-28 00:00:00",
            ),
            plan(
                5,
                category="close",
                community=JJ_COMMUNITY,
                registered="2022-03-26 00:00:01",
                ends="2022-03-30 00:00:00",
            ),
            plan(
                6,
                category="companion",
                community=JJ_COMMUNITY,
                registered="2022-03-25 10:00:00",
                ends="2022-03-30 00:00:00",
            ),
        ]
    )
    setup_world(tmp_path)
    rows = [
        sample("B1", rid("350582", "19800101", "101"), at="2022-03-25 23:59:59"),
        sample("B1", rid("350582", "19800101", "102"), at="2022-03-25 23:59:59"),
        sample("B2", rid("350582", "19800101", "103"), at="2022-03-26 00:00:00"),
        sample("B3", rid("350582", "19800101", "104"), at="2022-03-24 23:59:59", site="S03"),
    ]
    from lianfang.imports.services import import_file

    path = write_csv(tmp_path / "samples.csv", SAMPLE_HEADER, rows)
    assert import_file(kind="samples", path=path, actor=None).accepted == 4
    return facts


def test_known_numbers_around_the_cutoff(scenario, capsys):
    answer = run("2022-03-26", capsys)
    assert answer["cutoff"] == "2022-03-26 00:00:00"
    codes = [a["code"] for a in answer["areas"]]
    assert codes == sorted(codes) and codes[0] == CITY and len(codes) == 13  # the city and its 12 counties
    city = area(answer, CITY)
    assert {k: city[k] for k in city if k not in ("code", "name")} == {
        "new_confirmed": 1,
        "new_asymptomatic": 1,
        "new_in_control": 0,
        "new_in_society": 2,
        "converted": 1,
        "cumulative": 4,
        "discharged": 1,
        "close_under_control": 2,
        "secondary_under_control": 1,
        "sampled": 2,
        "corrections": {},
    }
    jj, lc = area(answer, JINJIANG), area(answer, LICHENG)
    assert (jj["new_confirmed"], jj["new_asymptomatic"], jj["cumulative"], jj["converted"]) == (1, 1, 3, 0)
    assert (jj["close_under_control"], jj["sampled"]) == (2, 2)
    assert (lc["cumulative"], lc["discharged"], lc["secondary_under_control"], lc["sampled"]) == (0, 1, 1, 0)
    other = area(answer, "350503")  # 丰泽区: nothing happened there, still listed with zeros
    assert other["new_confirmed"] == 0 and other["sampled"] == 0 and other["name"]


def test_the_next_window_starts_at_midnight(scenario, capsys):
    answer = run("2022-03-27", capsys)
    city = area(answer, CITY)
    assert (city["new_asymptomatic"], city["new_in_control"], city["converted"]) == (1, 1, 1)  # C002; C005
    assert area(answer, LICHENG)["new_asymptomatic"] == 1
    assert city["sampled"] == 1 and city["discharged"] == 1


def test_frozen_and_a_late_report_is_a_correction_carried_once(scenario, capsys):
    first = run("2022-03-26", capsys)
    # A case of the 25th reported late, after the briefing was published.
    scenario.CASES.append(
        case("C006", reported="2022-03-25 15:00:00", found="quarantine", community=LC_COMMUNITY)
    )
    assert run("2022-03-26", capsys) == first  # the published numbers never change
    second = run("2022-03-27", capsys)
    assert area(second, CITY)["corrections"] == {
        "2022-03-25": {"new_confirmed": 1, "new_in_control": 1, "cumulative": 1}
    }
    assert area(second, LICHENG)["corrections"] == {
        "2022-03-25": {"new_confirmed": 1, "new_in_control": 1, "cumulative": 1}
    }
    assert area(second, JINJIANG)["corrections"] == {}
    assert area(second, CITY)["cumulative"] == 6  # its own figure already holds the late case
    assert run("2022-03-27", capsys) == second
    # Carried once: the next day has nothing more to say about the 25th …
    third = run("2022-03-28", capsys)
    assert area(third, CITY)["corrections"] == {}
    # … until something else changes: a case of the 25th moves every later briefed day's cumulative.
    scenario.CASES.append(case("C007", reported="2022-03-25 16:00:00", cls="asymptomatic"))
    fourth = run("2022-03-29", capsys)
    assert area(fourth, CITY)["corrections"] == {
        "2022-03-25": {"new_asymptomatic": 1, "new_in_society": 1, "cumulative": 1},
        "2022-03-26": {"cumulative": 1},
        "2022-03-27": {"cumulative": 1},
    }


def test_unknown_facts_are_null_not_zero(db, capsys, tmp_path):
    from tests.conftest import apps_left_out

    # A deployment without the apps that state cases, plans and discharges.
    with apps_left_out("lianfang.tracing", "lianfang.companions", "lianfang.custody"):
        answer = run("2022-03-26", capsys)
    city = area(answer, CITY)
    for key in ("new_confirmed", "converted", "cumulative", "discharged", "close_under_control"):
        assert city[key] is None
    assert city["sampled"] == 0  # screening is always installed


@pytest.mark.parametrize("bad", ["2022-03-26 08:00", "2022-03-26T00:00:01", "26/03/2022", "2022-02-30", ""])
def test_a_cutoff_that_is_not_a_local_midnight_is_refused(db, capsys, bad):
    from lianfang.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["briefing", "--cutoff", bad, "--json"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "当地零点" in err and "local midnight" in err


def test_a_utc_time_that_is_a_local_midnight_is_accepted(db, capsys):
    assert run("2022-03-25T16:00:00Z", capsys)["cutoff"] == "2022-03-26 00:00:00"
