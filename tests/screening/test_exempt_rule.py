"""One exempt rule for the live pages, their exports and the round report (issue 17, bug 6).

The pages count and list people through SQL on the database (:mod:`lianfang.screening.selectors`),
the report through DuckDB (:mod:`lianfang.analytics.screening`); both take the exempt test from
:mod:`lianfang.analytics.status` but each computes the round's cutoff from the round's edition. A
person born on either side of each birthday around the exempt age, on an ordinary start day and on
29 February, must be exempt or untested alike everywhere — and as the edition's age says, counted
here in plain Python (so a rule shifted in both places at once is caught too).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest

from lianfang.accounts.roles import Role
from lianfang.screening import selectors, services
from lianfang.screening.models import Round
from lianfang.screening.report import round_report_compute
from tests.conftest import JINJIANG, JJ_COMMUNITY, actor, logged_in, make_person, make_user, rid

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _age(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _birthdays(start: dt.date, years: int) -> list[dt.date]:
    """The day ``years`` before ``start`` and its neighbours (28 Feb and 1 Mar for a 29 Feb)."""
    try:
        day = start.replace(year=start.year - years)
        return [day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)]
    except ValueError:  # 29 February in a common year
        feb28 = dt.date(start.year - years, 2, 28)
        return [feb28 - dt.timedelta(days=1), feb28, feb28 + dt.timedelta(days=1)]


@pytest.mark.parametrize("start", [dt.date(2022, 3, 28), dt.date(2024, 2, 29), dt.date(2025, 3, 1)])
def test_pages_exports_and_report_exempt_the_same_people_as_the_edition_says(db, start):
    rnd = services.round_open(
        actor=None,
        code="RX",
        name="x",
        scope=[JINJIANG],
        starts_at=dt.datetime.combine(start, dt.time(10, 0), tzinfo=SHANGHAI),
    )
    rnd = Round.objects.get(pk=rnd.pk)
    years = rnd.protocol.screening.exempt_under_years
    births = sorted({b for k in range(max(years - 1, 0), years + 2) for b in _birthdays(start, k)})
    births = [b for b in births if b <= start]
    people = {}
    for seq, birth in enumerate(births):
        person = make_person(id_number=rid("350582", birth.strftime("%Y%m%d"), f"{seq + 100:03d}"))
        assert person.birth_date == birth
        people[person.id_number] = birth
    exempt = {i for i, b in people.items() if _age(b, start) < years}
    untested = set(people) - exempt
    assert exempt and untested  # both sides of the boundary are there

    # The live pages' counts and untested list.
    user = make_user("office", Role.COMMAND_OFFICE, [JINJIANG])
    me = actor(user)
    totals = selectors.coverage_totals(rnd=rnd, actor=me)
    assert (totals["expected"], totals["exempt"], totals["untested"]) == (
        len(people),
        len(exempt),
        len(untested),
    )
    listed = selectors.untested_people(rnd=rnd, actor=me, code=JJ_COMMUNITY)
    assert {p.id_number for p in listed} == untested
    # The export the community's grid workers download (masked for the office: count the rows).
    response = logged_in(user).get(f"/rounds/RX/area/{JJ_COMMUNITY}/untested.csv")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) - 1 == len(untested)

    # The round report.
    report = round_report_compute(rnd)
    assert (report.summary["exempt"], report.summary["untested"]) == (len(exempt), len(untested))
    assert set(report.untested.column("id_number").to_pylist()) == untested
