"""FORMATS.md, Screening: once cases and contacts exist, a round's exempt people include "a case
reported before the start, or a person whose close plan has begun and not ended at the start" —
tracing states them (``in_custody.tracing``) and the round report and the coverage pages read them,
end to end through the CLI."""

from __future__ import annotations

import csv
import json

from lianfang.screening.models import Round
from lianfang.screening.selectors import areas
from tests.conftest import make_person, rid
from tests.tracing.helpers import case, cli, contact, import_rows

START = "2022-03-25 08:00"
CASE_BEFORE = rid("350582", "19800101", "011")  # a case reported before the start: exempt
CASE_AFTER = rid("350582", "19810101", "012")  # reported after the start: not exempt
CLOSE_ON = rid("350582", "19850505", "031")  # close plan begun, not ended at the start: exempt
CLOSE_ENDED = rid("350582", "19860606", "041")  # close plan over (monitoring ended): not exempt
CLOSE_LATER = rid("350582", "19870707", "051")  # registered after the start: not exempt
SECONDARY = rid("350582", "19880808", "061")  # a secondary contact is not in custody
NOBODY = rid("350582", "19890909", "071")


def test_cases_and_begun_close_plans_are_exempt_at_the_rounds_start(db, capsys, tmp_path):
    for number in (CASE_BEFORE, CASE_AFTER, CLOSE_ON, CLOSE_ENDED, CLOSE_LATER, SECONDARY, NOBODY):
        make_person(id_number=number, name="某人")
    s = import_rows(
        capsys,
        tmp_path,
        "cases",
        [
            case("C1", CASE_BEFORE, reported_at="2022-03-24 10:00"),
            case("C2", CASE_AFTER, reported_at="2022-03-25 09:00"),
        ],
    )
    assert s["accepted"] == 2, s
    s = import_rows(
        capsys,
        tmp_path,
        "contacts",
        [
            contact(CLOSE_ON, last_exposure_at="2022-03-23 18:00", registered_at="2022-03-24 12:00"),
            # exposure 2022-03-10: central 7 d + home 3 d → monitoring ended 03-20
            contact(CLOSE_ENDED, last_exposure_at="2022-03-10 18:00", registered_at="2022-03-11 12:00"),
            contact(CLOSE_LATER, last_exposure_at="2022-03-24 18:00", registered_at="2022-03-25 12:00"),
            contact(
                SECONDARY, category="secondary", via_id_number=CLOSE_ON, registered_at="2022-03-24 12:00"
            ),
        ],
    )
    assert s["accepted"] == 4, s
    code, _, err = cli(capsys, "round", "open", "R1", "--scope", "350582", "--start", START)
    assert code == 0, err
    out = tmp_path / "report"
    code, _, err = cli(capsys, "round", "report", "R1", "--out", out)
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["expected"] == 7
    assert summary["exempt"] == 2  # CASE_BEFORE and CLOSE_ON
    with open(out / "untested.csv", encoding="utf-8-sig") as f:
        untested = {row["id_number"] for row in csv.DictReader(f)}
    assert untested == {CASE_AFTER, CLOSE_ENDED, CLOSE_LATER, SECONDARY, NOBODY}
    # The coverage pages count the same exempt people in the database.
    rnd = Round.objects.get(code="R1")
    sql, params = areas.in_custody_sql(rnd, "p.id")
    from django.db import connection

    from lianfang.people.models import Person

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT p.id_number FROM {Person._meta.db_table} p WHERE {sql}", params)
        held = {row[0] for row in cursor.fetchall()}
    assert held == {CASE_BEFORE, CLOSE_ON}
