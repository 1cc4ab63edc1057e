"""Import order does not change the outcome (FORMATS.md, General): any interleaving of sample and result
batches, some sent twice, gives the same report files as samples first, then results."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lianfang.screening.models import PoolAlert, RecheckTask, Tube
from tests.conftest import LC_COMMUNITY, make_person, rid
from tests.screening.helpers import Importer, report_files, result, sample, setup_world

# (id_number, name, registered community or None for a person not in the registry)
PEOPLE = [
    (rid("350582", "19800101", "011"), "陈建国", "350582001004"),
    (rid("350582", "19811111", "022"), "林美玲", "350582001004"),
    (rid("350582", "19850505", "033"), "王小宝", "350582001004"),
    (rid("350582", "19860606", "044"), "黄丽", "350582001005"),
    (rid("350582", "20210101", "055"), "小宝宝", "350582001004"),  # exempt (under 2)
    (rid("350502", "19900303", "066"), "外区人", LC_COMMUNITY),  # outside the scope
    (rid("350583", "19950505", "077"), "访客甲", None),
    (rid("350583", "19960606", "088"), "访客乙", None),
]
VALUES = ["negative", "阴性", "positive", "阳性", "inconclusive", "可疑", "invalid", "无效"]


@st.composite
def scenarios(draw):
    """Tubes within capacity with their rows and results, cut into batches, in some order, some twice."""
    samples, results = [], []
    for t in range(draw(st.integers(3, 6))):
        pool = draw(st.sampled_from([1, 5, 10]))
        members = draw(
            st.lists(st.integers(0, len(PEOPLE) - 1), min_size=1, max_size=min(pool, 4), unique=True)
        )
        site = draw(st.sampled_from(["S01", "S02", "S03"]))
        for m in members:
            id_number, name, _ = PEOPLE[m]
            minute = draw(st.integers(0, 59))
            samples.append(
                sample(f"H{t}", id_number, pool=str(pool), site=site, box=f"BX{t}", name=name,
                       at=f"2022-03-28 09:{minute:02d}")
            )  # fmt: skip
        for k in range(draw(st.integers(0, 2))):  # a second result is a re-run
            results.append(result(f"H{t}", draw(st.sampled_from(VALUES)), at=f"2022-03-28 1{3 + k}:00"))
    if draw(st.booleans()):
        results.append(result("NOSUCHTUBE", "positive"))  # held for good
    batches = []
    for rows in (samples, results):
        if rows:
            parts = 2 if rows is samples else 1  # result batches cost more to import: at most two
            cut = draw(st.lists(st.integers(0, parts), min_size=len(rows), max_size=len(rows)))
            for b in sorted(set(cut)):
                kind = "samples" if rows is samples else "results"
                batches.append((kind, [r for r, c in zip(rows, cut, strict=True) if c == b]))
    order = list(draw(st.permutations(batches)))
    for again in draw(st.lists(st.integers(0, len(batches) - 1), max_size=2)):
        order.insert(draw(st.integers(0, len(order))), batches[again])
    return samples, results, order


def outcome(rnd, folder):
    """The report files and what the command sees: tube states, alerts, open re-check and
    re-sample tasks."""
    files = report_files(rnd, folder)
    tubes = sorted(Tube.objects.filter(round=rnd).values_list("barcode", "state", "reason"))
    alerts = sorted(PoolAlert.objects.values_list("tube__barcode", "reason"))
    tasks = sorted(
        RecheckTask.objects.filter(status="open").values_list(
            "kind", "tube__barcode", "person__id_number", "reason"
        )
    )
    return files, tubes, alerts, tasks


@pytest.fixture
def world(db, tmp_path):
    rnd = setup_world(tmp_path)
    for id_number, name, community in PEOPLE:
        if community:
            make_person(id_number=id_number, name=name, community_code=community)
    return rnd


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
@given(scenario=scenarios())
def test_import_order_does_not_change_the_report(world, tmp_path_factory, scenario):
    samples, results, order = scenario
    folder = tmp_path_factory.mktemp("example")
    with transaction.atomic():  # every example starts from the fixture's state
        imp = Importer(folder)
        imp("samples", samples)
        if results:
            imp("results", results)
        reference = outcome(world, folder / "reference")
        transaction.set_rollback(True)
    with transaction.atomic():
        imp = Importer(folder)
        for kind, rows in order:
            imp(kind, rows)
        got = outcome(world, folder / "shuffled")
        transaction.set_rollback(True)
    assert got[0] == reference[0], [k for k in reference[0] if got[0][k] != reference[0][k]]
    assert got[1:] == reference[1:]


def test_savepoints_leave_the_fixture_state(world, tmp_path):
    """The isolation the property relies on: a rolled-back example leaves nothing behind."""
    for _ in range(2):
        with transaction.atomic():
            s, _ = Importer(tmp_path)("samples", [sample("H0", PEOPLE[6][0], name="访客甲")])
            assert s.accepted == 1
            transaction.set_rollback(True)
    assert not Tube.objects.exists()
