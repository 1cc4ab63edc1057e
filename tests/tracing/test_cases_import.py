"""cases.csv through `lianfang import cases` (FORMATS.md "Tracing"): every reason from a file,
duplicates, updates that leave blanks alone, conversions with their time, Chinese labels."""

from __future__ import annotations

import datetime as dt

from lianfang.tracing.models import Case, CaseConversion, TraceTask
from tests.tracing.helpers import CASE_A, CASE_B, case, import_rows

UTC = dt.UTC


def test_every_reason_in_its_order(db, tmp_path, capsys):
    rows = [
        case("R01", name=""),  # missing_field:name
        case("R02", id_number="", name=""),  # the first missing column in table order
        case("R03", id_type="驾照"),
        case("R04", id_number="350582198001010010"),  # wrong check digit
        case("R05", classification="阳性"),
        case("R06", found_in="街上"),
        case("R07", severity="轻微"),
        case("R08", reported_at="2022-03-21"),  # a date alone is not a time
        case("R09", onset_date="2022/03/18"),
        case("R10", classification="confirmed", confirmed_at="yesterday"),
        case(
            "R11", classification="确诊", found_in="筛查", severity="bad", reported_at="x"
        ),  # severity first
        case("R12", first_positive_sampled_at="", found_in="nowhere"),  # missing before bad
        case("R13", id_type="passport", id_number="E1"),  # too short for a passport
    ]
    summary = import_rows(capsys, tmp_path, "cases", rows)
    assert summary["rejected_rows"] == [
        "missing_field:name",
        "missing_field:id_number",
        "bad_id_type",
        "invalid_id_number",
        "bad_classification",
        "bad_found_in",
        "bad_severity",
        "bad_time",
        "bad_time",
        "bad_time",
        "bad_severity",
        "missing_field:first_positive_sampled_at",
        "invalid_id_number",
    ]
    assert summary["accepted"] == 0 and summary["rejected"] == 13
    assert not Case.objects.exists()


def test_same_file_twice_is_duplicate_and_rejects_again(db, tmp_path, capsys):
    rows = [
        case("C1"),
        case("C2", id_number=CASE_B, classification="无症状", found_in=" Quarantine "),
        case("C3", name=""),
    ]
    first = import_rows(capsys, tmp_path, "cases", rows)
    assert (first["accepted"], first["rejected"]) == (2, 1)
    second = import_rows(capsys, tmp_path, "cases", rows)
    assert (second["accepted"], second["duplicate"], second["rejected"]) == (0, 2, 1)
    assert second["reasons"] == {"missing_field:name": 1}
    c2 = Case.objects.get(case_code="C2")
    assert (c2.classification, c2.found_in) == ("asymptomatic", "quarantine")
    # each case opened its trace task with the edition's clocks (p9: 4 h and 24 h)
    task = TraceTask.objects.get(case__case_code="C1")
    assert task.core_due_at - task.opened_at == dt.timedelta(hours=4)
    assert task.report_due_at - task.opened_at == dt.timedelta(hours=24)
    assert c2.edition == "p9"


def test_update_blank_leaves_unchanged_and_a_change_is_accepted(db, tmp_path, capsys):
    import_rows(capsys, tmp_path, "cases", [case("C1", phone="13800000001", severity="mild")])
    summary = import_rows(
        capsys, tmp_path, "cases", [case("C1", phone="", severity="moderate")], name="u.csv"
    )
    assert summary["accepted"] == 1
    c1 = Case.objects.get(case_code="C1")
    assert (c1.phone, c1.severity) == ("13800000001", "moderate")
    again = import_rows(capsys, tmp_path, "cases", [case("C1", phone="", severity="")], name="u2.csv")
    assert again["duplicate"] == 1


def test_conversion_needs_confirmed_at_and_is_recorded(db, tmp_path, capsys):
    import_rows(capsys, tmp_path, "cases", [case("C1", classification="asymptomatic")])
    refused = import_rows(capsys, tmp_path, "cases", [case("C1", classification="confirmed")], name="c.csv")
    assert refused["rejected_rows"] == ["missing_field:confirmed_at"]
    assert Case.objects.get(case_code="C1").classification == "asymptomatic"
    done = import_rows(
        capsys,
        tmp_path,
        "cases",
        [case("C1", classification="确诊", confirmed_at="2022-03-23 09:00")],
        name="d.csv",
    )
    assert done["accepted"] == 1
    c1 = Case.objects.get(case_code="C1")
    assert c1.classification == "confirmed" and c1.classification_at_report == "asymptomatic"
    assert c1.confirmed_at == dt.datetime(2022, 3, 23, 1, 0, tzinfo=UTC)
    assert list(CaseConversion.objects.values_list("converted_at", flat=True)) == [c1.confirmed_at]
    # the original report again changes nothing (the conversion stays); the update again is duplicate
    assert (
        import_rows(capsys, tmp_path, "cases", [case("C1", classification="asymptomatic")])["duplicate"] == 1
    )
    again = import_rows(
        capsys,
        tmp_path,
        "cases",
        [case("C1", classification="确诊", confirmed_at="2022-03-23 09:00")],
        name="d.csv",
    )
    assert again["duplicate"] == 1
    assert Case.objects.get(case_code="C1").classification == "confirmed"


def test_confirmed_at_on_a_new_row_counts_asymptomatic_at_report(db, tmp_path, capsys):
    import_rows(capsys, tmp_path, "cases", [case("C1", confirmed_at="2022-03-22 08:00")])
    c1 = Case.objects.get(case_code="C1")
    assert c1.classification_at_report == "asymptomatic" and c1.confirmed_at is not None
    # confirmed_at is read only on a confirmed row: on an asymptomatic one even garbage is ignored
    summary = import_rows(
        capsys,
        tmp_path,
        "cases",
        [case("C2", id_number=CASE_B, classification="asymptomatic", confirmed_at="x")],
    )
    assert summary["accepted"] == 1 and Case.objects.get(case_code="C2").confirmed_at is None


def test_community_defaults_to_the_registry(db, tmp_path, capsys):
    from tests.conftest import LC_COMMUNITY, make_person

    make_person(id_number=CASE_A, community_code=LC_COMMUNITY)
    import_rows(capsys, tmp_path, "cases", [case("C1", community_code="")])
    c1 = Case.objects.get(case_code="C1")
    assert (c1.community_id, c1.county_code, c1.community_code) == (LC_COMMUNITY, "350502", "")
    assert c1.person is not None
