"""`import results` per FORMATS.md: reasons in order, enums in Chinese, held results, duplicates."""

from __future__ import annotations

import pytest

from lianfang.screening import services
from lianfang.screening.models import PoolAlert, RecheckTask, Result, Round, Tube
from tests.conftest import make_person, rid
from tests.screening.helpers import Importer, result, sample, setup_world, summary_of

A = rid("350582", "19800101", "011")
B = rid("350582", "19811111", "022")
C = rid("350582", "19850505", "033")
D = rid("350582", "19860606", "044")


@pytest.fixture
def world(db, tmp_path):
    rnd = setup_world(tmp_path)
    for n, i in enumerate([A, B, C, D]):
        make_person(id_number=i, name=f"居民{n}")
    imp = Importer(tmp_path)
    s, _ = imp("samples", [sample("T1", A), sample("T2", B), sample("T3", C), sample("T4", D)])
    assert s.accepted == 4
    return rnd, imp


# (row, expected outcome); every rejected row has a second, later problem: the first reason wins.
ROWS = [
    (result("T1", "negative", ct_orf1ab="", ct_n=""), "accepted"),
    (result("T1", "negative", at="2022-03-28 20:00", ct_orf1ab="38.5"), "accepted"),  # a re-run is kept
    (result("T1", "negative"), "duplicate"),  # the identical row again
    (result("T1", "阴性", at="2022-03-28T06:00:00Z"), "duplicate"),  # same once normalised
    (result("T1", "NEGATIVE", at="2022-03-28 20:00:00+08:00", ct_orf1ab="38.50"), "duplicate"),
    (result("T2", "阳性", ct_orf1ab="28", ct_n="30.5"), "accepted"),
    (result("TX", "positive"), "held"),  # valid, for a tube not registered yet
    (result("TX", "positive"), "duplicate"),  # held or not, the identical row is a duplicate
    (result("", "negative", lab=""), "missing_field:tube_barcode"),
    (result("T3", "", lab=""), "missing_field:lab_code"),
    (result("T3", "", at=""), "missing_field:result"),
    (result("T3", "negative", lab="L404", at=""), "missing_field:reported_at"),
    (result("T3", "maybe", lab="L404"), "unknown_lab"),
    (result("T3", "阴", at="soon"), "bad_result"),
    (result("TZ", "maybe"), "bad_result"),  # validated first, whatever its tube: not held
    (result("T3", "negative", at="2022-03-28", ct_n="x"), "bad_time"),
    (result("T3", "negative", ct_orf1ab="abc"), "bad_ct"),
    (result("T3", "negative", ct_n="30,5"), "bad_ct"),
]
OUTCOMES = [o for _, o in ROWS]
REJECTED = [o for o in OUTCOMES if o not in ("accepted", "duplicate", "held")]


def test_every_reason_in_order_and_counts(world):
    rnd, imp = world
    s, rejects = imp("results", [r for r, _ in ROWS])
    assert (s.read, s.accepted, s.duplicate, s.held, s.rejected) == (
        len(ROWS),
        OUTCOMES.count("accepted"),
        OUTCOMES.count("duplicate"),
        OUTCOMES.count("held"),
        len(REJECTED),
    )
    assert s.read == s.accepted + s.duplicate + s.held + s.rejected
    assert [r["reason"] for r in rejects] == REJECTED
    assert [(r["tube_barcode"], r["result"]) for r in rejects] == [
        (r["tube_barcode"], r["result"]) for r, o in ROWS if o in REJECTED
    ]
    assert dict(s.reasons) == {r: REJECTED.count(r) for r in REJECTED}
    # Accepted and held rows are stored, once each; the rejected and the duplicates are not.
    assert Result.objects.count() == OUTCOMES.count("accepted") + OUTCOMES.count("held")
    assert set(Result.objects.filter(tube_barcode="T1").values_list("result", "ct_orf1ab")) == {
        ("negative", None),
        ("negative", 38.5),
    }
    t2 = Result.objects.get(tube_barcode="T2")
    assert (t2.result, t2.ct_orf1ab, t2.ct_n) == ("positive", 28.0, 30.5)
    assert not Result.objects.filter(tube_barcode__in=["T3", "TZ", ""]).exists()
    assert Tube.objects.get(barcode="T1").state == "negative"
    assert Tube.objects.get(barcode="T3").state == "pending"
    assert summary_of(rnd)["results_held"] == 1

    again, rejects2 = imp("results", [r for r, _ in ROWS])
    assert (again.accepted, again.held, again.rejected) == (0, 0, len(REJECTED))
    assert again.duplicate == len(ROWS) - len(REJECTED)
    assert [r["reason"] for r in rejects2] == REJECTED
    assert Result.objects.count() == OUTCOMES.count("accepted") + OUTCOMES.count("held")


@pytest.mark.parametrize(
    ("value", "stored", "state", "reason"),
    [
        ("阴性", "negative", "negative", ""),
        ("阳性", "positive", "abnormal", "positive"),
        ("可疑", "inconclusive", "abnormal", "inconclusive"),
        ("无效", "invalid", "invalid", "invalid"),
        ("Positive", "positive", "abnormal", "positive"),
    ],
)
def test_chinese_and_english_values(world, value, stored, state, reason):
    _, imp = world
    s, _ = imp("results", [result("T1", value)])
    assert s.accepted == 1
    tube = Tube.objects.get(barcode="T1")
    assert (tube.state, tube.reason) == (state, reason)
    assert Result.objects.get(tube_barcode="T1").result == stored


def test_held_results_are_matched_when_the_samples_arrive(world):
    rnd, imp = world
    s, _ = imp("results", [result("T5", "negative"), result("T6", "阳性"), result("T6", "negative")])
    assert (s.accepted, s.held) == (0, 3)
    assert summary_of(rnd)["results_held"] == 3
    assert not PoolAlert.objects.exists()

    s, _ = imp("samples", [sample("T5", A), sample("T6", B), sample("T6", C)])
    assert s.accepted == 3
    assert Tube.objects.get(barcode="T5").state == "negative"
    t6 = Tube.objects.get(barcode="T6")
    assert (t6.state, t6.reason) == ("abnormal", "positive")
    assert PoolAlert.objects.get(tube=t6).reason == "positive"
    assert RecheckTask.objects.filter(tube=t6, kind="recheck").count() == 2
    summary = summary_of(rnd)
    assert summary["results_held"] == 0
    assert (summary["tubes"], summary["tubes_abnormal"]) == (6, 1)

    # The held rows sent again after the match: duplicates, nothing more stored.
    s, _ = imp("results", [result("T5", "negative"), result("T6", "阳性")])
    assert (s.duplicate, s.accepted, s.held) == (2, 0, 0)
    assert Result.objects.filter(tube_barcode__in=["T5", "T6"]).count() == 3


def test_held_then_resent_is_duplicate_and_still_held(world):
    rnd, imp = world
    imp("results", [result("T7", "invalid", at="2022-03-28 15:30")])
    s, _ = imp("results", [result("T7", "无效", at="2022-03-28T07:30:00+00:00")])
    assert (s.duplicate, s.held, s.accepted) == (1, 0, 0)
    assert Result.objects.filter(tube_barcode="T7").count() == 1
    assert summary_of(rnd)["results_held"] == 1


def test_identical_resend_with_time_written_differently(world):
    _, imp = world
    first, _ = imp("results", [result("T1", "negative", at="2022-03-28 14:00", ct_n="31")])
    assert first.accepted == 1
    s, _ = imp(
        "results",
        [
            result("T1", "negative", at="2022-03-28T06:00:00Z", ct_n="31.0"),
            result("T1", "阴性", at="2022-03-28 14:00:00", ct_n="31"),
            result("T1", "negative", at="2022-03-28T14:00:00+08:00", ct_n=" 31 "),
        ],
    )
    assert (s.duplicate, s.accepted) == (3, 0)
    # Another instant, another lab or another value is a new row (a re-run), not a duplicate.
    s, _ = imp(
        "results",
        [
            result("T1", "negative", at="2022-03-28 14:00:01", ct_n="31"),
            result("T1", "negative", lab="L02", ct_n="31"),
            result("T1", "negative", ct_n="32"),
        ],
    )
    assert (s.accepted, s.duplicate) == (3, 0)
    assert Result.objects.filter(tube_barcode="T1").count() == 4


def test_results_still_arrive_for_a_closed_round(world):
    rnd, imp = world
    services.round_close(actor=None, rnd=Round.objects.get(code="R1"))
    s, _ = imp("results", [result("T2", "negative")])
    assert s.accepted == 1
    assert Tube.objects.get(barcode="T2").state == "negative"
    assert summary_of(rnd)["negative"] == 1
