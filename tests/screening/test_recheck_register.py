"""Registering the single tube of a re-check task: a sample time may not lie in the future."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from django.utils import timezone

from lianfang.screening import services
from lianfang.screening.models import RecheckTask, TaskStatus, Tube
from tests.conftest import make_person, rid
from tests.screening.helpers import result, sample, setup_world

A = rid("350582", "19800101", "011")


@pytest.fixture
def task(db, tmp_path):
    """The re-check task of the one member of positive pool T1."""
    setup_world(tmp_path)
    make_person(id_number=A)
    services.samples_import(table=pa.Table.from_pylist([sample("T1", A)]), actor=None)
    services.results_import(table=pa.Table.from_pylist([result("T1", "positive")]), actor=None)
    return RecheckTask.objects.get()


def test_a_sample_time_ahead_of_the_tolerance_is_refused(task):
    ahead = timezone.now() + services.SAMPLE_TIME_TOLERANCE + dt.timedelta(minutes=1)
    with pytest.raises(services.ScreeningError) as exc:
        services.recheck_sample_register(actor=None, task=task, barcode="C1", sampled_at=ahead)
    assert (exc.value.code, exc.value.zh, exc.value.en) == (
        "future_time",
        "采样时间不能晚于当前时间",
        "the sampling time is in the future",
    )
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and not Tube.objects.filter(barcode="C1").exists()


def test_a_sample_time_within_the_tolerance_is_taken(task):
    ahead = timezone.now() + dt.timedelta(minutes=4)
    task = services.recheck_sample_register(actor=None, task=task, barcode="C1", sampled_at=ahead)
    assert task.status == TaskStatus.SAMPLED and task.sampled_at == ahead
    assert Tube.objects.get(barcode="C1").first_collected_at == ahead


def test_a_naive_sample_time_is_read_in_the_server_time_zone(task):
    """A device sending a time without an offset: Asia/Shanghai, checked like any other."""
    local_now = timezone.localtime().replace(tzinfo=None)
    with pytest.raises(services.ScreeningError):
        services.recheck_sample_register(
            actor=None, task=task, barcode="C1", sampled_at=local_now + dt.timedelta(minutes=10)
        )
    task = services.recheck_sample_register(actor=None, task=task, barcode="C1", sampled_at=local_now)
    assert timezone.localtime(task.sampled_at).replace(tzinfo=None) == local_now
