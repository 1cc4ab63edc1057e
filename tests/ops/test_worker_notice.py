"""A queued upload nobody will run says so; a worker's heartbeat (``lianfang worker``) lifts it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.imports.models import ImportJob, WorkerBeat
from lianfang.imports.services import WORKER_SILENT_SECONDS, worker_beat, worker_gone, worker_running
from tests.conftest import logged_in

DB_QUEUE = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}


@pytest.fixture
def queued(county_user):
    return ImportJob.objects.create(user=county_user, file_path="/nowhere.csv", original_name="p.csv")


def test_queued_job_without_a_worker_says_so(queued, county_user, settings):
    settings.TASKS = DB_QUEUE
    page = logged_in(county_user).get(f"/imports/{queued.pk}/").content.decode()
    assert 'id="worker-missing"' in page and "lianfang worker" in page


def test_a_beating_worker_lifts_the_notice_and_a_silent_one_does_not(queued, county_user, settings):
    settings.TASKS = DB_QUEUE
    started = timezone.now()
    worker_beat(name="host:1", started_at=started)
    assert worker_running()
    assert 'id="worker-missing"' not in logged_in(county_user).get(f"/imports/{queued.pk}/").content.decode()
    WorkerBeat.objects.filter(name="host:1").update(
        seen_at=timezone.now() - dt.timedelta(seconds=WORKER_SILENT_SECONDS + 1)
    )
    assert not worker_running()
    worker_beat(name="host:1", started_at=started)
    worker_gone(name="host:1")
    assert not worker_running()


def test_finished_jobs_and_in_process_tasks_need_no_worker(queued, county_user, settings):
    assert worker_running()  # the tests' immediate backend runs tasks in process
    settings.TASKS = DB_QUEUE
    ImportJob.objects.filter(pk=queued.pk).update(status="done")
    assert 'id="worker-missing"' not in logged_in(county_user).get(f"/imports/{queued.pk}/").content.decode()
