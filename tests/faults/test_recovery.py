"""A task left RUNNING by a dead worker of this host is requeued; one that has lost too many
workers is failed with the reason (on the task and the upload's job); a live worker's task, and
another host's, are left alone."""

from __future__ import annotations

import uuid

import pytest
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from lianfang.imports.models import ImportJob, JobStatus
from lianfang.imports.recovery import IMPORT_TASK, _host, stale_tasks_recover, worker_gone, worker_id

pytestmark = pytest.mark.django_db


def _running(user, workers: list[str]) -> tuple[DBTaskResult, ImportJob]:
    job = ImportJob.objects.create(
        user=user,
        file_path="/nowhere.csv",
        original_name="x.csv",
        status=JobStatus.RUNNING,
        processed=5,
        total=9,
    )
    task = DBTaskResult.objects.create(
        status=TaskResultStatus.RUNNING,
        args_kwargs={"args": [str(job.id)], "kwargs": {}},
        task_path=IMPORT_TASK,
        worker_ids=workers,
        backend_name="default",
        run_after=get_date_max(),
    )
    return task, job


def _dead() -> str:
    return f"{_host()}:{2**22 + 12345}:1:{uuid.uuid4().hex[:8]}"  # beyond pid_max: never a live process


def test_a_dead_workers_task_is_requeued_and_its_job_queued(county_user):
    task, job = _running(county_user, [_dead()])
    assert worker_gone(task.worker_ids[0]) and not worker_gone(worker_id())
    [lost] = stale_tasks_recover(attempts=3)
    assert (lost.job_id, lost.action) == (str(job.id), "requeued")
    task.refresh_from_db()
    job.refresh_from_db()
    assert task.status == TaskResultStatus.READY and DBTaskResult.objects.ready().filter(pk=task.pk).exists()
    assert (job.status, job.processed, job.error) == (JobStatus.QUEUED, 0, "")
    assert stale_tasks_recover(attempts=3) == []  # nothing left to recover: a second start changes nothing


def test_a_job_that_lost_its_worker_too_often_fails_with_the_reason(county_user):
    task, job = _running(county_user, [_dead(), _dead(), _dead()])
    [lost] = stale_tasks_recover(attempts=3)
    assert lost.action == "failed"
    task.refresh_from_db()
    job.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED and "3" in task.traceback
    assert job.status == JobStatus.FAILED and job.finished_at is not None
    assert "中断 3 次" in job.error and "stopped 3 times" in job.error


def test_live_and_other_hosts_workers_are_left_alone(county_user):
    mine, _ = _running(county_user, [worker_id()])
    elsewhere, _ = _running(county_user, [f"another-host:1:1:{uuid.uuid4().hex[:8]}"])
    legacy, _ = _running(county_user, ["Jd8sQk2rZ0"])  # django-tasks' own random ids: not ours to judge
    assert stale_tasks_recover(attempts=3) == []
    for task in (mine, elsewhere, legacy):
        task.refresh_from_db()
        assert task.status == TaskResultStatus.RUNNING
