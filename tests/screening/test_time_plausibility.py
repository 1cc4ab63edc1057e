"""Times that cannot be true are refused with a reason on every path: a sample, result, scan or
hand-over time ahead of the server's clock by more than the skew (``future_time``) — files, the
device API and the forms alike — or, arriving live (devices, forms), before its round started
(``before_round``). A file may bring a round's records from before the round was opened here
(a round moved from another system): FORMATS.md gives its rows no such reason."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from django.test import Client
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.accounts.services import token_issue
from lianfang.core.times import format_time
from lianfang.screening import services
from lianfang.screening.models import Box, RecheckTask, Result, Sample, Tube
from lianfang.screening.services import clock, samples
from tests.conftest import JINJIANG, logged_in, make_person, make_user, rid
from tests.screening.helpers import ROUND_START, Importer, result, sample, setup_world

A = rid("350582", "19800101", "011")
B = rid("350582", "19800101", "012")


def _at(value: dt.datetime) -> str:
    return format_time(value)


@pytest.fixture
def world(db, tmp_path):
    setup_world(tmp_path)
    make_person(id_number=A)
    make_person(id_number=B)
    return tmp_path


def test_the_skew_is_one_definition_and_an_operational_tolerance():
    """Not a protocol value: five minutes of clock drift, defined once (the old name is the same)."""
    assert clock.CLOCK_SKEW == dt.timedelta(minutes=5)
    assert services.SAMPLE_TIME_TOLERANCE is clock.CLOCK_SKEW


@pytest.mark.parametrize("live", [True, False])
@pytest.mark.parametrize("rules", ["small batch", "duckdb"])
def test_sample_times_in_the_future_or_before_the_round_are_refused(world, rules, live, monkeypatch):
    if rules == "duckdb":  # the DuckDB twin of the rules, as for any file over a few rows
        monkeypatch.setattr(samples, "SMALL_BATCH", 0)
    now = timezone.now()
    rows = [
        sample("T1", A, at=_at(now + clock.CLOCK_SKEW + dt.timedelta(minutes=2))),
        sample("T1", B, at=_at(ROUND_START - clock.CLOCK_SKEW - dt.timedelta(minutes=1))),
        sample("T2", A, at=_at(now + dt.timedelta(minutes=3))),  # within the skew
        sample("T3", B, at=_at(ROUND_START - dt.timedelta(minutes=2))),  # a lagging desk clock
    ]
    summary, outcomes = services.samples_import(table=pa.Table.from_pylist(rows), actor=None, live=live)
    early = "before_round" if live else "accepted"
    assert list(outcomes) == ["future_time", early, "accepted", "accepted"]
    assert Tube.objects.filter(barcode="T1").exists() is not live
    assert Sample.objects.count() == (2 if live else 3)


@pytest.mark.parametrize("live", [True, False])
def test_result_times_in_the_future_or_before_the_tubes_round_are_refused(world, live):
    services.samples_import(table=pa.Table.from_pylist([sample("T1", A)]), actor=None)
    now = timezone.now()
    summary, outcomes = services.results_import(
        table=pa.Table.from_pylist(
            [
                result("T1", "negative", at=_at(now + dt.timedelta(hours=1))),
                result("T1", "negative", at=_at(ROUND_START - dt.timedelta(hours=1))),
                # A tube not registered yet: its round is not known, only the future is refused.
                result("T9", "negative", at=_at(ROUND_START - dt.timedelta(hours=1))),
                result("T1", "negative", at=_at(now)),
            ]
        ),
        actor=None,
        live=live,
    )
    early = "before_round" if live else "accepted"
    assert list(outcomes) == ["future_time", early, "held", "accepted"]
    assert Result.objects.count() == (2 if live else 3)


def test_reasons_are_explained_in_both_languages(world, tmp_path):
    summary, rejects = Importer(tmp_path)(
        "samples", [sample("T1", A, at=_at(timezone.now() + dt.timedelta(days=1)))]
    )
    assert summary.reasons == {"future_time": 1} and rejects[0]["reason"] == "future_time"
    from lianfang.core.summary import reason_text

    for reason in ("future_time", "before_round"):
        zh, en = reason_text(reason)
        assert zh and en and zh != reason and en != reason


@pytest.fixture
def api(world):
    user = make_user("jj_sampler", Role.COMMAND_OFFICE, [JINJIANG])
    _, raw = token_issue(user=user, name="desk")

    def post(path: str, body: dict):
        return Client().post(
            "/api/v1/screening" + path,
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )

    return post


def test_device_scans_and_boxes_with_impossible_times_are_refused(api):
    head = {"round_code": "R1", "tube_barcode": "T1", "pool_size": 5, "site_code": "S01", "id_number": A}
    future = _at(timezone.now() + dt.timedelta(minutes=30))
    r = api("/scans", {**head, "collected_at": future})
    assert r.status_code == 200 and r.json()["rows"][0]["outcome"] == "future_time"
    r = api("/scans", {**head, "collected_at": _at(ROUND_START - dt.timedelta(days=1))})
    assert r.json()["rows"][0]["outcome"] == "before_round"
    assert api("/scans", {**head, "collected_at": _at(timezone.now())}).json()["accepted"] == 1
    box = {"box_code": "B1", "round_code": "R1", "site_code": "S01", "tubes": ["T1"]}
    r = api("/boxes", {**box, "handed_over_at": (timezone.now() + dt.timedelta(hours=1)).isoformat()})
    assert r.status_code == 409 and "future" in r.json()["detail"]
    r = api("/boxes", {**box, "handed_over_at": (ROUND_START - dt.timedelta(hours=1)).isoformat()})
    assert r.status_code == 409 and "before the round" in r.json()["detail"]
    assert not Box.objects.exists()
    assert api("/boxes", box).status_code == 200


def test_a_recheck_sample_time_before_the_round_is_refused_in_the_form(world):
    services.samples_import(table=pa.Table.from_pylist([sample("T1", A)]), actor=None)
    services.results_import(table=pa.Table.from_pylist([result("T1", "positive")]), actor=None)
    task = RecheckTask.objects.get()
    with pytest.raises(services.ScreeningError) as exc:
        services.recheck_sample_register(
            actor=None, task=task, barcode="C1", sampled_at=ROUND_START - dt.timedelta(minutes=6)
        )
    assert exc.value.code == "before_round"
    client = logged_in(make_user("jj_worker", Role.COMMUNITY_WORKER, [JINJIANG]))
    early = (ROUND_START - dt.timedelta(hours=2)).astimezone(timezone.get_default_timezone())
    response = client.post(
        f"/rounds/R1/tasks/{task.pk}/sample/",
        {"barcode": "C1", "sampled_at": early.strftime("%Y-%m-%dT%H:%M")},
        follow=True,
    )
    assert response.status_code == 200 and "早于轮次开始时间" in response.content.decode()
    task.refresh_from_db()
    assert task.status == "open" and not Tube.objects.filter(barcode="C1").exists()
