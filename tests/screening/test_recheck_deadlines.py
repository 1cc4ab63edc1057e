"""An inconclusive or invalid single re-check tube renews the task's deadlines (issue 17, bug 7).

The person must be sampled again: the team's clock starts again from the moment the single tube's
result came in, by the round's edition, not from when the pool turned abnormal hours earlier.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from django.utils import timezone

from lianfang.screening import services
from lianfang.screening.models import Lab, RecheckTask, Round, Site
from tests.conftest import JINJIANG, JJ_COMMUNITY, make_person, rid

ID = rid("350582", "19800101", "701")


def _results(barcode: str, value: str) -> None:
    services.results_import(
        table=pa.table(
            {
                "tube_barcode": [barcode],
                "lab_code": ["L1"],
                "result": [value],
                "reported_at": [timezone.localtime().strftime("%Y-%m-%d %H:%M")],
            }
        ),
        actor=None,
    )


@pytest.fixture
def task(db):
    """An open re-check task of a positive pool, created (as if) a day ago."""
    services.round_open(actor=None, code="R1", name="x", scope=[JINJIANG])
    Site.objects.create(
        code="S1", name="x", community_id=JJ_COMMUNITY, town_code=JJ_COMMUNITY[:9], county_code=JINJIANG
    )
    Lab.objects.create(code="L1", name="x")
    make_person(id_number=ID)
    services.samples_import(
        table=pa.table(
            {
                "round_code": ["R1"],
                "tube_barcode": ["P1"],
                "pool_size": ["10"],
                "id_number": [ID],
                "site_code": ["S1"],
                "collected_at": ["2022-03-28 08:00"],
            }
        ),
        actor=None,
    )
    _results("P1", "positive")
    found = RecheckTask.objects.get()
    day_ago = timezone.now() - dt.timedelta(days=1)
    RecheckTask.objects.filter(pk=found.pk).update(due_sample_at=day_ago, due_result_at=day_ago)
    found.refresh_from_db()
    return found


@pytest.mark.parametrize("single", ["inconclusive", "invalid"])
def test_an_inconclusive_or_invalid_single_tube_renews_the_deadlines(task, single):
    rules = Round.objects.get(pk=task.round_id).protocol.screening
    arrive = dt.timedelta(hours=rules.recheck_arrive_hours)
    result = dt.timedelta(hours=rules.recheck_result_hours)
    services.recheck_sample_register(actor=None, task=task, barcode="C1")
    before = timezone.now()
    _results("C1", single)
    after = timezone.now()
    task.refresh_from_db()
    assert (task.status, task.check_tube, task.sampled_at) == ("open", None, None)
    assert before + arrive <= task.due_sample_at <= after + arrive
    assert task.due_result_at - task.due_sample_at == result


def test_a_negative_single_tube_closes_the_task_without_new_deadlines(task):
    services.recheck_sample_register(actor=None, task=task, barcode="C1")
    due = (task.due_sample_at, task.due_result_at)
    _results("C1", "negative")
    task.refresh_from_db()
    assert task.status == "negative" and (task.due_sample_at, task.due_result_at) == due
