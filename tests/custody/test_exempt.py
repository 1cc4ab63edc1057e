"""Item 6: a person checked in is exempt from screening rounds from check-in to release; the
round report takes it from the ``in_custody`` facts (screening names no custody module)."""

from __future__ import annotations

import datetime as dt

from lianfang.core.times import SHANGHAI
from lianfang.custody.services import stay_check_in, stay_end, stay_test_record
from lianfang.screening import services
from lianfang.screening.report import round_report_compute
from tests.conftest import JINJIANG, JJ_COMMUNITY, make_person, rid
from tests.custody.helpers import make_place

START = dt.datetime(2022, 3, 28, 6, 0, tzinfo=SHANGHAI)


def _in(place, person, at):
    return stay_check_in(actor=None, place=place, id_type="resident_id", id_number=person.id_number, at=at)


def _discharge(stay, at):
    for hours in (1, 26):
        stay_test_record(
            actor=None,
            stay=stay,
            sampled_at=stay.checked_in_at + dt.timedelta(hours=hours),
            result="negative",
            ct_n=40,
            ct_orf1ab=40,
        )
    stay_end(actor=None, stay=stay, at=at)


def test_the_round_report_exempts_people_in_custody_at_its_start(db):
    held, left, later, free, ended_at_start = (
        make_person(id_number=rid("350582", "19800101", f"{n}"), name=f"筛查{n}")
        for n in (201, 202, 203, 204, 205)
    )
    ward = make_place("JJ-F1", JJ_COMMUNITY, kind="fangcang", units="1-9")
    _in(ward, held, START - dt.timedelta(days=2))  # still in at the start: exempt
    _discharge(_in(ward, left, START - dt.timedelta(days=5)), START - dt.timedelta(hours=1))  # out before
    _in(ward, later, START + dt.timedelta(hours=2))  # in after the start: screened like anybody
    _discharge(_in(ward, ended_at_start, START - dt.timedelta(days=4)), START)  # out at the start itself
    rnd = services.round_open(actor=None, code="RC", name="x", scope=[JINJIANG], starts_at=START)
    report = round_report_compute(rnd)
    assert (report.summary["expected"], report.summary["exempt"], report.summary["untested"]) == (5, 1, 4)
    untested = set(report.untested.column("id_number").to_pylist())
    assert untested == {left.id_number, later.id_number, free.id_number, ended_at_start.id_number}
    [row] = [r for r in report.coverage.to_pylist() if r["community_code"] == JJ_COMMUNITY]
    assert (row["exempt"], row["untested"]) == (1, 4)


def test_without_custody_stays_nobody_is_exempt_for_custody(db):
    make_person(id_number=rid("350582", "19800101", "301"))
    rnd = services.round_open(actor=None, code="RD", name="x", scope=[JINJIANG], starts_at=START)
    assert round_report_compute(rnd).summary["exempt"] == 0


def test_the_pages_exempt_the_same_people_as_the_report(db):
    """The live coverage counts and the untested list (SQL in the database) agree with the report."""
    from lianfang.accounts.roles import Role
    from lianfang.screening import selectors
    from tests.conftest import actor, make_user

    held, left, free = (make_person(id_number=rid("350582", "19800101", f"{n}")) for n in (401, 402, 403))
    ward = make_place("JJ-F1", JJ_COMMUNITY, kind="fangcang", units="1-9")
    _in(ward, held, START - dt.timedelta(days=2))
    _discharge(_in(ward, left, START - dt.timedelta(days=5)), START - dt.timedelta(hours=1))
    rnd = services.round_open(actor=None, code="RE", name="x", scope=[JINJIANG], starts_at=START)
    me = actor(make_user("jj_office", Role.COMMAND_OFFICE, [JINJIANG]))
    totals = selectors.coverage_totals(rnd=rnd, actor=me)
    report = round_report_compute(rnd).summary
    assert (totals["exempt"], totals["untested"]) == (report["exempt"], report["untested"]) == (1, 2)
    [row] = [
        r
        for r in selectors.coverage_children(rnd=rnd, actor=me, parent=JJ_COMMUNITY[:9])
        if r["code"] == JJ_COMMUNITY
    ]
    assert (row["exempt"], row["untested"]) == (1, 2)
    listed = {p.id_number for p in selectors.untested_people(rnd=rnd, actor=me, code=JJ_COMMUNITY)}
    assert listed == {left.id_number, free.id_number}
