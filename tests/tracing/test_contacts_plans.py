"""contacts.csv and `lianfang trace plans` (FORMATS.md "Tracing"), case by case: every reason from
a file, duplicates, late registration, after the plan ended, both upgrade timings, merges, a
contact who is a case, local-date edges with UTC offsets, p8 vs p9."""

from __future__ import annotations

import pytest

from lianfang.tracing.models import Contact, ContactRow
from tests.tracing.helpers import CASE_A, CASE_B, P1, P2, P3, case, cli, contact, import_rows, plans


@pytest.fixture
def c1(db, tmp_path, capsys):
    summary = import_rows(capsys, tmp_path, "cases", [case("C1")], name="c1.csv")
    assert summary["accepted"] == 1
    return tmp_path


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["id_number"]: r for r in rows}


def test_every_contact_reason_in_its_order(c1, capsys):
    rows = [
        contact(case_code=""),
        contact(category="", name=""),  # category comes before name in table order
        contact(last_exposure_at=""),
        contact(id_type="驾照"),
        contact(id_number="350582198505050310"),
        contact(case_code="C404"),
        contact(case_code="C404", category="朋友"),  # unknown_case before bad_category
        contact(category="friend"),
        contact(category="secondary"),
        contact(category="次密接", last_exposure_at="bad"),  # missing_via before bad_time
        contact(last_exposure_at="2022-03-20"),
        contact(registered_at="soon"),
    ]
    summary = import_rows(capsys, c1, "contacts", rows)
    assert summary["rejected_rows"] == [
        "missing_field:case_code",
        "missing_field:category",
        "missing_field:last_exposure_at",
        "bad_id_type",
        "invalid_id_number",
        "unknown_case",
        "unknown_case",
        "bad_category",
        "missing_via",
        "missing_via",
        "bad_time",
        "bad_time",
    ]
    assert summary["accepted"] == 0 and not ContactRow.objects.exists()


def test_same_file_twice_is_duplicate(c1, capsys):
    x_id = "35058219880808105X"
    rows = [contact(P1), contact(x_id.lower(), category=" 密接 "), contact(P3, name="")]
    first = import_rows(capsys, c1, "contacts", rows)
    assert (first["accepted"], first["rejected"]) == (2, 1)
    second = import_rows(capsys, c1, "contacts", rows)
    assert (second["accepted"], second["duplicate"], second["reasons"]) == (0, 2, {"missing_field:name": 1})
    assert ContactRow.objects.count() == 2 and Contact.objects.count() == 2
    assert Contact.objects.filter(id_number=x_id, category="close").exists()  # stored upper case


def test_close_contact_plan_p9(c1, capsys):
    import_rows(capsys, c1, "contacts", [contact(P1)])
    (row,) = plans(capsys, c1)
    assert row == {
        "id_type": "resident_id",
        "id_number": P1,
        "name": "接触者",
        "category": "close",
        "case_code": "C1",
        "protocol": "p9",
        "measure": "central_quarantine",
        "last_exposure_at": "2022-03-20 18:00:00",
        "ends_at": "2022-03-27 18:00:00",
        "monitoring_ends_at": "2022-03-30 18:00:00",
        "test_days": "2022-03-21;2022-03-22;2022-03-23;2022-03-25;2022-03-27;2022-03-30",
        "upgraded_at": "",
    }


def test_each_category_measure(c1, capsys):
    import_rows(
        capsys,
        c1,
        "contacts",
        [
            contact(P1, category="次密接", via_id_number=P3),
            contact(P2, category="时空伴随"),
            contact(P3, category="一般接触"),
        ],
    )
    got = by_id(plans(capsys, c1))
    assert (got[P1]["measure"], got[P1]["ends_at"], got[P1]["monitoring_ends_at"]) == (
        "home_quarantine",
        "2022-03-27 18:00:00",
        "2022-03-27 18:00:00",
    )
    assert got[P1]["test_days"] == "2022-03-21;2022-03-24;2022-03-27"
    assert (got[P2]["measure"], got[P2]["ends_at"], got[P2]["test_days"]) == (
        "test_monitoring",
        "2022-03-23 18:00:00",
        "2022-03-21;2022-03-23",
    )
    assert (got[P3]["measure"], got[P3]["test_days"]) == ("health_monitoring", "")


def test_found_late_serves_what_is_left(c1, capsys):
    import_rows(capsys, c1, "contacts", [contact(P1, registered_at="2022-03-24 10:00")])
    (row,) = plans(capsys, c1)
    assert row["test_days"] == "2022-03-24;2022-03-25;2022-03-27;2022-03-30"
    assert row["ends_at"] == "2022-03-27 18:00:00"  # the clock still runs from the last exposure


def test_registered_on_a_test_day_adds_nothing(c1, capsys):
    import_rows(capsys, c1, "contacts", [contact(P1, registered_at="2022-03-22 23:00")])
    (row,) = plans(capsys, c1)
    assert row["test_days"] == "2022-03-22;2022-03-23;2022-03-25;2022-03-27;2022-03-30"


def test_registered_after_the_plan_ended_still_has_a_row(c1, capsys):
    import_rows(capsys, c1, "contacts", [contact(P1, registered_at="2022-04-05 09:00")])
    (row,) = plans(capsys, c1)
    assert row["test_days"] == "2022-04-05"
    assert row["monitoring_ends_at"] == "2022-03-30 18:00:00"


def test_local_date_edges_with_utc_offsets(c1, capsys):
    import_rows(
        capsys,
        c1,
        "contacts",
        [
            # 17:30 UTC is 01:30 the next day in Quanzhou: day 1 is 22 March
            contact(P1, last_exposure_at="2022-03-20T17:30:00Z", registered_at="2022-03-21T00:00:00+08:00"),
            # 15:59 UTC is 23:59 the same day: day 1 is 21 March
            contact(P2, last_exposure_at="2022-03-20T15:59:00+00:00", registered_at="2022-03-21 08:00"),
            # registered at 00:30 local on 24 March, written in UTC as 23 March
            contact(P3, last_exposure_at="2022-03-20 18:00", registered_at="2022-03-23T16:30:00Z"),
        ],
    )
    got = by_id(plans(capsys, c1))
    assert got[P1]["last_exposure_at"] == "2022-03-21 01:30:00"
    assert got[P1]["test_days"].split(";")[0] == "2022-03-22"
    assert got[P1]["ends_at"] == "2022-03-28 01:30:00"
    assert got[P2]["test_days"].split(";")[0] == "2022-03-21"
    assert got[P2]["last_exposure_at"] == "2022-03-20 23:59:00"
    assert got[P3]["test_days"] == "2022-03-24;2022-03-25;2022-03-27;2022-03-30"


def test_upgrade_when_the_case_is_reported_after_registration(c1, capsys):
    import_rows(capsys, c1, "contacts", [contact(P1, category="secondary", via_id_number=P2)])
    (before,) = plans(capsys, c1)
    assert (before["category"], before["upgraded_at"]) == ("secondary", "")
    import_rows(
        capsys, c1, "cases", [case("C2", id_number=P2, reported_at="2022-03-24 10:00")], name="c2.csv"
    )
    (row,) = plans(capsys, c1)
    assert (row["category"], row["case_code"], row["upgraded_at"]) == ("close", "C2", "2022-03-24 10:00:00")
    assert row["measure"] == "central_quarantine" and row["monitoring_ends_at"] == "2022-03-30 18:00:00"
    # recomputed from the same exposure; the late rule from upgraded_at
    assert row["test_days"] == "2022-03-24;2022-03-25;2022-03-27;2022-03-30"


def test_upgrade_when_registered_after_the_case_was_reported(c1, capsys):
    import_rows(
        capsys, c1, "cases", [case("C2", id_number=P2, reported_at="2022-03-21 09:00")], name="c2.csv"
    )
    import_rows(
        capsys,
        c1,
        "contacts",
        [contact(P1, category="secondary", via_id_number=P2.lower(), registered_at="2022-03-22 15:00")],
    )
    (row,) = plans(capsys, c1)
    assert (row["category"], row["case_code"], row["upgraded_at"]) == ("close", "C2", "2022-03-22 15:00:00")
    assert row["test_days"] == "2022-03-22;2022-03-23;2022-03-25;2022-03-27;2022-03-30"


def test_merge_strictest_category_latest_exposure_blank_fields_and_earliest_registration(c1, capsys):
    import_rows(
        capsys, c1, "cases", [case("C2", id_number=CASE_B, reported_at="2022-03-22 10:00")], name="c2.csv"
    )
    rows = [
        # close, earlier exposure, with a place but no phone
        contact(P1, last_exposure_at="2022-03-19 12:00", registered_at="2022-03-21 12:00", place="餐馆"),
        # close again from another case, later exposure: gives the category's exposure and case
        contact(
            P1,
            case_code="C2",
            last_exposure_at="2022-03-20 09:00",
            registered_at="2022-03-22 12:00",
            name="张三",
        ),
        # a later, milder exposure does not move the plan; its phone fills the blank
        contact(
            P1,
            category="general",
            last_exposure_at="2022-03-25 09:00",
            registered_at="2022-03-20 08:00",
            phone="13900000001",
        ),
    ]
    summary = import_rows(capsys, c1, "contacts", rows)
    assert summary["accepted"] == 3
    (row,) = plans(capsys, c1)
    assert (row["category"], row["case_code"], row["name"]) == ("close", "C2", "张三")
    assert row["last_exposure_at"] == "2022-03-20 09:00:00"
    # earliest registration of all rows (20 March): nothing was late
    assert row["test_days"] == "2022-03-21;2022-03-22;2022-03-23;2022-03-25;2022-03-27;2022-03-30"
    merged = Contact.objects.get(id_number=P1)
    assert (merged.phone, merged.place, merged.case.case_code) == ("13900000001", "餐馆", "C2")


def test_a_contact_who_is_a_case_has_no_plan(c1, capsys):
    import_rows(capsys, c1, "contacts", [contact(P1), contact(P2, category="venue")])
    assert len(plans(capsys, c1)) == 2
    import_rows(capsys, c1, "cases", [case("C9", id_number=P1, id_type="resident_id")], name="c9.csv")
    assert [r["id_number"] for r in plans(capsys, c1)] == [P2]
    # a contact row naming a case's own ID number is accepted but has no plan either
    import_rows(capsys, c1, "contacts", [contact(CASE_A, category="general")], name="self.csv")
    assert [r["id_number"] for r in plans(capsys, c1)] == [P2]


def test_p8_plan_keeps_its_edition_after_switching_back(c1, capsys):
    code, _, err = cli(capsys, "protocol", "switch", "p8", "--reason", "第八版 测试")
    assert code == 0, err
    import_rows(capsys, c1, "contacts", [contact(P1)])
    code, _, err = cli(capsys, "protocol", "switch", "p9", "--reason", "第九版 测试")
    assert code == 0, err
    import_rows(capsys, c1, "contacts", [contact(P2)], name="p9.csv")
    got = by_id(plans(capsys, c1))
    assert (got[P1]["protocol"], got[P1]["ends_at"], got[P1]["monitoring_ends_at"]) == (
        "p8",
        "2022-04-03 18:00:00",
        "2022-04-10 18:00:00",
    )
    assert got[P1]["test_days"] == "2022-03-21;2022-03-24;2022-03-27;2022-04-03;2022-04-05;2022-04-10"
    assert (got[P2]["protocol"], got[P2]["ends_at"]) == ("p9", "2022-03-27 18:00:00")


def test_plans_report_sorted_and_header_only_when_empty(db, tmp_path, capsys):
    assert plans(capsys, tmp_path) == []
