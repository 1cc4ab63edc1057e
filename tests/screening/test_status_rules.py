"""FORMATS.md's status rules, case by case, through the real imports and the round report; re-checks."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone

from lianfang import protocol
from lianfang.screening import services
from lianfang.screening.models import PoolAlert, PositiveFinding, RecheckTask, Round, Tube
from lianfang.screening.report import round_report_compute
from lianfang.screening.services import ingest, samples
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, make_person, rid
from tests.screening.helpers import (
    ROUND_START,
    SHANGHAI,
    Importer,
    read_csv,
    report_files,
    result,
    sample,
    setup_world,
)

A = rid("350582", "19800101", "011")
B = rid("350582", "19811111", "022")
C = rid("350582", "19850505", "033")
D = rid("350582", "19860606", "044")
E = rid("350582", "19870707", "055")
OUT = rid("350502", "19900303", "066")  # registered in Licheng, outside the round's scope
KID = rid("350582", "20210101", "077")  # under 2 on the round's start day: exempt
KID2 = rid("350582", "20210601", "088")  # exempt, never sampled
U = rid("350583", "19950505", "099")  # not in the registry


class World:
    def __init__(self, rnd, imp, folder):
        self.rnd, self.imp, self.folder = rnd, imp, folder

    def report(self):
        return round_report_compute(self.rnd)

    def recheck(self):
        return [
            (r["tube_barcode"], r["reason"], r["id_number"], r["community_code"] or "")
            for r in self.report().recheck.to_pylist()
        ]

    def status(self):
        """Status counts of the expected people (coverage totals)."""
        s = self.report().summary
        return {k: s[k] for k in ("sampled", "negative", "pending", "invalid", "abnormal", "untested")}

    def task(self, tube, id_number):
        return RecheckTask.objects.filter(tube__barcode=tube, person__id_number=id_number).first()


@pytest.fixture(params=["device-sized", "bulk"])
def w(request, db, tmp_path, monkeypatch):
    """Every case runs twice: through the small-batch code (a device's request: plain loops, ids
    in IN lists) and through the bulk code (DuckDB, temporary tables, set-based updates), whose
    task work here goes one tube per statement (the IN-list chunking a city-sized file needs)."""
    if request.param == "bulk":
        monkeypatch.setattr(samples, "SMALL_BATCH", 0)
        monkeypatch.setattr(ingest, "BIG_BATCH", 0)
        monkeypatch.setattr(ingest, "_IN_LIST", 1)
    rnd = setup_world(tmp_path)
    make_person(id_number=A, name="陈建国", phone="13805951234", address="桂香花园3栋501", tags="bedridden")
    make_person(id_number=B, name="林美玲")
    make_person(id_number=C, name="王小宝", phone="13900000003")
    make_person(id_number=D, name="黄丽")
    make_person(id_number=E, name="吴强")
    make_person(id_number=OUT, name="外区人", community_code=LC_COMMUNITY)
    make_person(id_number=KID, name="小宝宝")
    make_person(id_number=KID2, name="小二宝")
    return World(rnd, Importer(tmp_path), tmp_path)


def test_person_in_two_tubes_negative_and_abnormal_is_abnormal(w):
    w.imp("samples", [sample("T1", A), sample("T1", B), sample("T2", A, at="2022-03-28 10:00")])
    w.imp("results", [result("T1", "negative"), result("T2", "positive")])
    assert w.status() == {
        "sampled": 2,
        "negative": 1,
        "pending": 0,
        "invalid": 0,
        "abnormal": 1,
        "untested": 3,
    }
    assert w.recheck() == [("T2", "positive", A, JJ_COMMUNITY)]
    assert w.task("T2", A).kind == "recheck"
    assert w.task("T1", A) is None and w.task("T1", B) is None


def test_rerun_invalid_then_negative_is_negative(w):
    w.imp("samples", [sample("T3", A), sample("T3", B)])
    w.imp("results", [result("T3", "invalid", at="2022-03-28 13:00")])
    assert w.status()["invalid"] == 2
    assert {t.kind for t in RecheckTask.objects.filter(tube__barcode="T3")} == {"resample"}
    w.imp("results", [result("T3", "negative", at="2022-03-28 16:00")])
    assert Tube.objects.get(barcode="T3").state == "negative"
    assert w.status()["negative"] == 2 and w.status()["invalid"] == 0
    assert w.recheck() == []
    # The re-sample tasks of the re-run tube are no longer needed.
    assert set(RecheckTask.objects.filter(tube__barcode="T3").values_list("status", flat=True)) == {
        "not_needed"
    }


@pytest.mark.parametrize("negative_first", [True, False])
def test_invalid_tube_member_with_a_negative_tube_needs_no_resample(w, negative_first):
    w.imp("samples", [sample("T4", A), sample("T5", A, site="S02"), sample("T5", B, site="S02")])
    negative, invalid = [result("T4", "阴性")], [result("T5", "无效")]
    for batch in (negative, invalid) if negative_first else (invalid, negative):
        w.imp("results", batch)
    # A has a negative tube: negative, not on the re-check list; B only the invalid one.
    assert w.recheck() == [("T5", "invalid", B, JJ_COMMUNITY)]
    assert w.status() == {
        "sampled": 2,
        "negative": 1,
        "pending": 0,
        "invalid": 1,
        "abnormal": 0,
        "untested": 3,
    }
    a_task = w.task("T5", A)
    assert a_task is None or a_task.status == "not_needed"
    if not negative_first:
        assert a_task is not None and a_task.closed_at is not None  # it was open until the negative came
    b_task = w.task("T5", B)
    assert (b_task.kind, b_task.reason, b_task.status) == ("resample", "invalid", "open")
    assert not PoolAlert.objects.exists()  # an invalid tube is not an abnormal pool


def test_positive_pool_alert_and_recheck_tasks_with_protocol_deadlines(w, monkeypatch):
    # The round's own edition sets the clocks: a local edition with 3 h to arrive, 5 h to result.
    p9 = protocol.edition("p9")
    local = dataclasses.replace(
        p9,
        code="local",
        screening=dataclasses.replace(p9.screening, recheck_arrive_hours=3, recheck_result_hours=5),
    )
    monkeypatch.setitem(protocol.EDITIONS, "local", local)
    Round.objects.filter(code="R1").update(edition="local")
    w.imp(
        "samples",
        [
            sample("T6", A, pool="10", at="2022-03-28 09:00"),
            sample("T6", B, pool="10", at="2022-03-28T01:30:00Z"),
            sample("T6", U, pool="10", at="2022-03-28 09:45", name="访客"),
            sample("T7", C, pool="10", site="S02"),
        ],
    )
    before = timezone.now()
    w.imp("results", [result("T6", "阳性", ct_orf1ab="25.1"), result("T7", "negative")])
    after = timezone.now()
    tube = Tube.objects.get(barcode="T6")
    alert = PoolAlert.objects.get()
    assert (alert.tube, alert.reason, alert.acknowledged_at) == (tube, "positive", None)
    assert before <= alert.raised_at <= after
    tasks = list(RecheckTask.objects.filter(tube=tube).select_related("person").order_by("person__id_number"))
    assert sorted(t.person.id_number for t in tasks) == sorted([A, B, U])
    for task in tasks:
        assert (task.kind, task.reason, task.status) == ("recheck", "positive", "open")
        assert before + dt.timedelta(hours=3) <= task.due_sample_at <= after + dt.timedelta(hours=3)
        assert task.due_result_at - task.due_sample_at == dt.timedelta(hours=5)
        # Assigned to the person's community; the unregistered person's to the site's.
        assert task.community_id == JJ_COMMUNITY
    assert not RecheckTask.objects.filter(tube__barcode="T7").exists()
    # The same results again: no second alert, no second task.
    w.imp("results", [result("T6", "positive", ct_orf1ab="25.10")])
    assert PoolAlert.objects.count() == 1 and RecheckTask.objects.count() == 3

    rows = {r["id_number"]: r for r in read_csv(_write(w)["recheck.csv"])}
    assert set(rows) == {A, B, U}
    assert rows[B]["collected_at"] == "2022-03-28 09:30:00"  # their own sample time, in +08:00
    assert rows[A]["collected_at"] == "2022-03-28 09:00:00"
    assert (rows[U]["community_code"], rows[U]["name"], rows[U]["site_code"]) == ("", "访客", "S01")
    assert (rows[A]["phone"], rows[A]["community_code"], rows[A]["reason"]) == (
        "13805951234",
        JJ_COMMUNITY,
        "positive",
    )
    assert w.report().summary["tubes_abnormal"] == 1


def _write(w):
    out = w.folder / "report"
    report_files(w.rnd, out)
    return {p.name: p for p in out.iterdir()}


def test_inconclusive_pool(w):
    w.imp("samples", [sample("T8", A), sample("T8", B)])
    w.imp("results", [result("T8", "可疑"), result("T8", "negative", at="2022-03-28 15:00")])
    assert w.recheck() == [("T8", "inconclusive", A, JJ_COMMUNITY), ("T8", "inconclusive", B, JJ_COMMUNITY)]
    assert w.status()["abnormal"] == 2
    assert PoolAlert.objects.get().reason == "inconclusive"
    assert {(t.kind, t.reason) for t in RecheckTask.objects.all()} == {("recheck", "inconclusive")}


def test_inconclusive_then_positive_rerun_updates_the_reason(w):
    w.imp("samples", [sample("T8", A), sample("T8", B)])
    w.imp("results", [result("T8", "inconclusive")])
    w.imp("results", [result("T8", "positive", at="2022-03-28 18:00")])
    assert [r[1] for r in w.recheck()] == ["positive", "positive"]
    tube = Tube.objects.get(barcode="T8")
    assert (tube.state, tube.reason) == ("abnormal", "positive")
    assert PoolAlert.objects.get().reason == "positive"
    assert {t.reason for t in RecheckTask.objects.all()} == {"positive"}


def test_unregistered_and_out_of_scope_people_sampled(w):
    w.imp(
        "samples", [sample("T9", U, name="访客", site="S03"), sample("T9", OUT, site="S03"), sample("T9", A)]
    )
    w.imp("results", [result("T9", "positive")])
    s = w.report().summary
    assert (s["sampled_unregistered"], s["sampled_out_of_scope"]) == (1, 1)
    assert (s["expected"], s["sampled"], s["abnormal"]) == (7, 1, 1)  # neither counts as expected
    assert sorted(w.recheck()) == sorted(
        [
            ("T9", "positive", U, ""),
            ("T9", "positive", OUT, LC_COMMUNITY),
            ("T9", "positive", A, JJ_COMMUNITY),
        ]
    )
    # The unregistered person's task goes to the site's community (S03 is in Licheng).
    assert w.task("T9", U).community_id == LC_COMMUNITY
    assert w.task("T9", OUT).community_id == LC_COMMUNITY
    coverage = {r["community_code"]: r for r in w.report().coverage.to_pylist()}
    assert LC_COMMUNITY not in coverage
    assert all(code.startswith("350582") for code in coverage)


def test_exempt_child_sampled_counts_in_sampled_not_untested(w):
    # Two years old exactly on the round's start day in Quanzhou (27 March in UTC): not exempt.
    two = make_person(id_number=rid("350582", "20200328", "111"), name="两岁整").id_number
    w.imp("samples", [sample("T10", KID), sample("T10", A)])
    w.imp("results", [result("T10", "negative")])
    s = w.report().summary
    assert (s["expected"], s["exempt"], s["sampled"], s["negative"], s["untested"]) == (8, 2, 2, 2, 5)
    untested = [r["id_number"] for r in w.report().untested.to_pylist()]
    assert KID not in untested and KID2 not in untested and two in untested
    row = next(r for r in w.report().coverage.to_pylist() if r["community_code"] == JJ_COMMUNITY)
    assert (row["expected"], row["exempt"], row["sampled"], row["untested"], row["coverage"]) == (
        8,
        2,
        2,
        5,
        0.25,
    )


def test_untested_list_content(w):
    w.imp("samples", [sample("T11", B), sample("T11", D, at="2022-03-28 11:00")])
    files = _write(w)
    rows = read_csv(files["untested.csv"])
    assert [r["id_number"] for r in rows] == sorted([A, C, E])  # not B, D (sampled), KID2 (exempt), OUT
    assert rows[0] == {
        "community_code": JJ_COMMUNITY,
        "id_type": "resident_id",
        "id_number": A,
        "name": "陈建国",
        "phone": "13805951234",
        "address": "桂香花园3栋501",
        "tags": "bedridden",
    }
    pending = read_csv(files["pending_tubes.csv"])
    assert pending == [
        {"tube_barcode": "T11", "site_code": "S01", "box_code": "", "collected_at": "2022-03-28 09:00:00",
         "members": "2"}
    ]  # fmt: skip


# --- re-check and re-sample tubes ------------------------------------------------------------


@pytest.fixture
def abnormal(w):
    """T20 (A, B, U) positive, T21 (C, D) invalid: three re-check tasks and two re-sample tasks."""
    w.imp("samples", [sample("T20", A), sample("T20", B), sample("T20", U, name="访客"), sample("T21", C),
                      sample("T21", D)])  # fmt: skip
    w.imp("results", [result("T20", "positive"), result("T21", "invalid")])
    assert RecheckTask.objects.filter(kind="recheck").count() == 3
    assert RecheckTask.objects.filter(kind="resample").count() == 2
    return w


SAMPLED_AT = dt.datetime(2022, 3, 28, 20, 0, tzinfo=SHANGHAI)


def test_recheck_negative_closes_the_task(abnormal):
    w = abnormal
    before = report_files(w.rnd, w.folder / "before")
    task = services.recheck_sample_register(
        actor=None, task=w.task("T20", A), barcode="C1", sampled_at=SAMPLED_AT
    )
    assert (task.status, task.sampled_at, task.check_tube.barcode) == ("sampled", SAMPLED_AT, "C1")
    s, _ = w.imp("results", [result("C1", "negative", at="2022-03-28 23:00")])
    assert s.accepted == 1
    task.refresh_from_db()
    assert task.status == "negative" and task.closed_at is not None
    assert not PositiveFinding.objects.exists()
    # The other members' tasks are untouched.
    assert w.task("T20", B).status == "open"
    assert report_files(w.rnd, w.folder / "after") == before


def test_recheck_positive_escalates_to_a_finding(abnormal):
    w = abnormal
    before = report_files(w.rnd, w.folder / "before")
    task = services.recheck_sample_register(
        actor=None, task=w.task("T20", B), barcode="C2", sampled_at=SAMPLED_AT
    )
    w.imp("results", [result("C2", "阳性", at="2022-03-28 23:30", ct_orf1ab="27")])
    task.refresh_from_db()
    assert task.status == "positive" and task.closed_at is not None
    finding = PositiveFinding.objects.get()
    assert (finding.task, finding.person.id_number, finding.round, finding.tube_barcode) == (
        task,
        B,
        w.rnd,
        "C2",
    )
    assert finding.sampled_at == SAMPLED_AT
    assert finding.reported_at == dt.datetime(2022, 3, 28, 15, 30, tzinfo=dt.UTC)
    assert finding.handed_over_at is None
    # The single tube is not a pool: no second alert.
    assert PoolAlert.objects.count() == 1
    assert report_files(w.rnd, w.folder / "after") == before


def test_single_tube_result_held_before_registration_is_matched(abnormal):
    w = abnormal
    before = report_files(w.rnd, w.folder / "before")
    s, _ = w.imp("results", [result("C3", "negative", at="2022-03-28 23:00")])
    assert s.held == 1
    assert w.report().summary["results_held"] == 1
    task = services.recheck_sample_register(
        actor=None, task=w.task("T20", U), barcode="C3", sampled_at=SAMPLED_AT
    )
    assert task.status == "negative"
    assert Tube.objects.get(barcode="C3").state == "negative"
    assert report_files(w.rnd, w.folder / "after") == before


def test_resample_task_flow(abnormal):
    w = abnormal
    before = report_files(w.rnd, w.folder / "before")
    task = services.recheck_sample_register(
        actor=None, task=w.task("T21", C), barcode="C4", sampled_at=SAMPLED_AT
    )
    assert Tube.objects.get(barcode="C4").purpose == "resample"
    w.imp("results", [result("C4", "negative")])
    task.refresh_from_db()
    assert task.status == "negative"
    # A negative re-sample tube is not a negative tube of the round: C is still invalid there.
    assert ("T21", "invalid", C, JJ_COMMUNITY) in w.recheck()
    assert w.task("T21", D).status == "open"
    assert report_files(w.rnd, w.folder / "after") == before


def test_check_tube_barcode_in_samples_csv_is_refused(abnormal):
    w = abnormal
    services.recheck_sample_register(actor=None, task=w.task("T20", A), barcode="C5", sampled_at=SAMPLED_AT)
    s, rejects = w.imp("samples", [sample("C5", E, pool="1")])
    assert [r["reason"] for r in rejects] == ["tube_in_other_round"]
    assert Tube.objects.get(barcode="C5").samples.count() == 1


def test_recheck_registration_refusals(abnormal):
    w = abnormal
    with pytest.raises(services.ScreeningError) as exc:
        services.recheck_sample_register(actor=None, task=w.task("T20", A), barcode="T21")
    assert exc.value.code == "tube_exists"
    task = services.recheck_sample_register(actor=None, task=w.task("T20", A), barcode="C6")
    with pytest.raises(services.ScreeningError) as exc:
        services.recheck_sample_register(actor=None, task=task, barcode="C7")
    assert exc.value.code == "task_not_open"


def test_member_sampled_after_the_pool_result_gets_a_task(w):
    """Results may come before some of a tube's rows (order does not matter): late members count too."""
    w.imp("results", [result("T30", "positive"), result("T31", "invalid"), result("T32", "negative")])
    w.imp("samples", [sample("T30", A), sample("T31", B), sample("T31", C, site="S02")])
    assert {(t.tube.barcode, t.person.id_number) for t in RecheckTask.objects.all()} == {
        ("T30", A),
        ("T31", B),
        ("T31", C),
    }
    # The tubes' late rows: D joins the positive pool, E the invalid one; C's negative tube arrives.
    w.imp("samples", [sample("T30", D), sample("T31", E), sample("T32", C, site="S02")])
    assert sorted(w.recheck()) == sorted(
        [("T30", "positive", A, JJ_COMMUNITY), ("T30", "positive", D, JJ_COMMUNITY),
         ("T31", "invalid", B, JJ_COMMUNITY), ("T31", "invalid", E, JJ_COMMUNITY)]
    )  # fmt: skip
    d_task, e_task, c_task = w.task("T30", D), w.task("T31", E), w.task("T31", C)
    assert d_task is not None and (d_task.kind, d_task.status) == ("recheck", "open")
    assert e_task is not None and (e_task.kind, e_task.status) == ("resample", "open")
    assert c_task.status == "not_needed"


def test_released_resample_task_is_reopened_when_the_tube_turns_positive(w):
    """A's invalid pool is re-run positive after A's other tube came back negative: A is re-checked."""
    w.imp("samples", [sample("T40", A), sample("T40", B), sample("T41", A, site="S02")])
    w.imp("results", [result("T40", "invalid")])
    w.imp("results", [result("T41", "negative")])
    assert w.task("T40", A).status == "not_needed"
    w.imp("results", [result("T40", "positive", at="2022-03-28 19:00")])
    assert [(r[0], r[2]) for r in w.recheck()] == sorted([("T40", A), ("T40", B)])
    for who in (A, B):
        task = w.task("T40", who)
        assert (task.kind, task.reason, task.status, task.closed_at) == ("recheck", "positive", "open", None)


@pytest.mark.parametrize(
    "order", ["negative, invalid, positive", "invalid, negative, positive", "all at once"]
)
def test_resample_is_due_again_when_the_negative_tube_is_rerun_positive(w, order):
    """A is in invalid T50 and in T51, negative then re-run positive. A no longer has a negative
    tube, so T50 needs A re-sampled (FORMATS: unless they also have a negative tube) besides the
    re-check of T51 — whatever order the results came in."""
    w.imp("samples", [sample("T50", A), sample("T51", A, site="S02")])
    negative, invalid = result("T51", "negative"), result("T50", "invalid")
    positive = result("T51", "positive", at="2022-03-28 19:00")
    batches = {
        "negative, invalid, positive": [[negative], [invalid], [positive]],
        "invalid, negative, positive": [[invalid], [negative], [positive]],
        "all at once": [[negative, invalid, positive]],
    }[order]
    for batch in batches:
        w.imp("results", batch)
    assert sorted(w.recheck()) == [("T50", "invalid", A, JJ_COMMUNITY), ("T51", "positive", A, JJ_COMMUNITY)]
    resample, recheck = w.task("T50", A), w.task("T51", A)
    assert (resample.kind, resample.status, resample.closed_at) == ("resample", "open", None)
    assert (recheck.kind, recheck.reason, recheck.status) == ("recheck", "positive", "open")


def test_a_negative_in_another_round_spares_no_resample(w):
    """A was negative in round R1; A's tube in round R2 is invalid, both results in one batch:
    the re-sample in R2 is due (FORMATS: a negative tube of the same round spares it)."""
    services.round_open(actor=None, code="R2", name="第二轮", scope=["350582"], starts_at=ROUND_START)
    w.imp("samples", [sample("T60", A), sample("T61", A, rnd="R2", site="S02")])
    w.imp("results", [result("T60", "negative"), result("T61", "invalid")])
    task = w.task("T61", A)
    assert (task.kind, task.status) == ("resample", "open")
    w.imp("results", [result("T60", "negative", at="2022-03-28 15:00")])  # R1 again: R2's task stays
    assert w.task("T61", A).status == "open"


@pytest.mark.django_db
def test_an_earlier_single_tube_rerun_positive_still_escalates_the_task():
    """Inconclusive single → the person is sampled again → the lab re-runs the first single: positive."""
    import pyarrow as pa

    from lianfang.screening.models import Lab, Site

    services.round_open(actor=None, code="RX1", name="x", scope=[JJ_COMMUNITY[:6]], starts_at=ROUND_START)
    Site.objects.create(
        code="SX",
        name="x",
        community_id=JJ_COMMUNITY,
        town_code=JJ_COMMUNITY[:9],
        county_code=JJ_COMMUNITY[:6],
    )
    Lab.objects.create(code="LX", name="x")
    person = make_person(id_number=rid("350582", "19800101", "777"))

    def results(barcode, value, at):
        services.results_import(
            table=pa.table(
                {"tube_barcode": [barcode], "lab_code": ["LX"], "result": [value], "reported_at": [at]}
            ),
            actor=None,
        )

    services.samples_import(
        table=pa.table(
            {
                "round_code": ["RX1"],
                "tube_barcode": ["PX"],
                "pool_size": ["10"],
                "id_number": [person.id_number],
                "site_code": ["SX"],
                "collected_at": ["2022-03-28 08:00"],
            }
        ),
        actor=None,
    )
    results("PX", "positive", "2022-03-28 12:00")
    task = RecheckTask.objects.get(person=person)
    services.recheck_sample_register(actor=None, task=task, barcode="SX-1")
    results("SX-1", "inconclusive", "2022-03-28 15:00")
    task.refresh_from_db()
    assert task.status == "open" and task.check_tube is None
    services.recheck_sample_register(actor=None, task=task, barcode="SX-2")
    results("SX-1", "positive", "2022-03-28 16:00")
    task.refresh_from_db()
    assert task.status == "positive"
    assert PositiveFinding.objects.get(task=task).tube_barcode == "SX-1"
    results("SX-2", "negative", "2022-03-28 17:00")  # too late to release a positive person
    task.refresh_from_db()
    assert task.status == "positive"
