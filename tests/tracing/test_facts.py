"""The facts other apps read (core.facts): cases and plans as they stood at a time T."""

from __future__ import annotations

import datetime as dt

from lianfang.core import plugins
from lianfang.core.times import SHANGHAI
from tests.tracing.helpers import P1, P2, case, contact, import_rows, plans


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_plans_as_of_is_the_plans_report_at_t(db, tmp_path, capsys):
    import_rows(capsys, tmp_path, "cases", [case("C1", classification="asymptomatic")], name="c1.csv")
    import_rows(
        capsys,
        tmp_path,
        "contacts",
        [
            contact(P1, category="secondary", via_id_number=P2, registered_at="2022-03-21 12:00"),
            contact("35058219880808105X", category="close", registered_at="2022-03-23 12:00"),
        ],
    )
    import_rows(
        capsys, tmp_path, "cases", [case("C2", id_number=P2, reported_at="2022-03-24 10:00")], name="c2.csv"
    )
    import_rows(
        capsys,
        tmp_path,
        "cases",
        [case("C1", classification="confirmed", confirmed_at="2022-03-25 08:00")],
        name="c3.csv",
    )
    plans_as_of = plugins.provider("plans_as_of")
    cases_as_of = plugins.provider("cases_as_of")
    # now: the same rows as the report
    report = plans(capsys, tmp_path)
    now = plans_as_of(None)
    assert [(p.id_number, p.category, p.plan.test_days_text) for p in now] == [
        (r["id_number"], r["category"], r["test_days"]) for r in report
    ]
    # before the upgrade: secondary, and the later-registered contact not yet there
    early = plans_as_of(at("2022-03-22 00:00"))
    assert [(p.id_number, p.category, p.upgraded_at) for p in early] == [(P1, "secondary", None)]
    after = {p.id_number: p for p in plans_as_of(at("2022-03-24 10:00"))}
    assert after[P1].category == "close" and after[P1].case_code == "C2"
    assert after[P1].community_code == ""  # neither reported nor in the registry
    # cases: C2 not reported yet; C1's conversion only once it happened
    assert [c.case_code for c in cases_as_of(at("2022-03-22 00:00"))] == ["C1"]
    c1 = {c.case_code: c for c in cases_as_of(at("2022-03-24 12:00"))}["C1"]
    assert c1.classification_at_report == "asymptomatic" and c1.confirmed_at is None
    c1 = {c.case_code: c for c in cases_as_of(at("2022-03-25 08:00"))}["C1"]
    assert c1.confirmed_at == at("2022-03-25 08:00")
    assert c1.community_code == "350582001004"
