"""Jobs whose worker died: found when a worker starts, and run again or failed with the reason.

django-tasks' database worker claims a task by marking it RUNNING with its worker id and never
looks back: a worker killed in the middle (``kill -9``, the out-of-memory killer, a reboot) leaves
the task RUNNING and the upload's job "导入中" forever. ``lianfang worker`` therefore names each
worker ``host:pid:start-ticks:random`` and, before it takes its first task, looks at every task
still RUNNING under a worker of this host: a worker whose process is gone (or whose pid now
belongs to a later process) will never finish it. Its import was one transaction, rolled back
with the process, so nothing of the file is stored and running it again is safe: the task goes
back to the queue and the job to "排队中". A job that has already lost
``LIANFANG_IMPORT_JOB_ATTEMPTS`` workers (a file that kills whatever runs it) is failed instead,
with that reason, so it cannot take down every worker in turn. Tasks of workers on other hosts
are left to those hosts' workers.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from lianfang.imports.models import ImportJob, JobStatus

log = logging.getLogger(__name__)

IMPORT_TASK = "lianfang.imports.tasks.run_import_job"
DEFAULT_ATTEMPTS = 3
LOST_REASON = (
    "导入进程在导入时中断 {n} 次（进程被终止或内存不足），未保存任何内容；请检查文件后重新上传 / "
    "the worker stopped {n} times while importing this file (killed or out of memory); nothing was "
    "stored; check the file and upload it again"
)


def _host() -> str:
    return socket.gethostname()[:24] or "localhost"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def worker_id() -> str:
    """This process's worker id (at most 64 characters, django-tasks' limit)."""
    return f"{_host()}:{os.getpid()}:{_start_ticks(os.getpid()) or 0}:{get_random_string(8)}"


def worker_gone(wid: str) -> bool:
    """True only when ``wid`` names a worker of this host whose process is no longer there."""
    parts = wid.split(":")
    if len(parts) != 4 or parts[0] != _host() or not parts[1].isdigit():
        return False  # another host's, or not one of ours: not ours to judge
    started = _start_ticks(int(parts[1]))
    return started is None or started != parts[2]


@dataclass(frozen=True)
class Recovered:
    task_id: str
    job_id: str | None
    action: str  # "requeued" or "failed"


def attempts_allowed() -> int:
    return max(1, int(os.environ.get("LIANFANG_IMPORT_JOB_ATTEMPTS", DEFAULT_ATTEMPTS)))


def stale_tasks_recover(*, is_gone=worker_gone, attempts: int | None = None) -> list[Recovered]:
    """Requeue (or fail, past ``attempts`` workers lost) every RUNNING task whose worker is gone."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    attempts = attempts or attempts_allowed()
    out = []
    for result in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING):
        if not result.worker_ids or not is_gone(result.worker_ids[-1]):
            continue
        args = (result.args_kwargs or {}).get("args") or []
        job_id = str(args[0]) if result.task_path == IMPORT_TASK and args else None
        lost = len(result.worker_ids)
        with transaction.atomic():
            # Claimed again only if still RUNNING under the same worker (another worker starting
            # at the same moment may have recovered it first).
            claimed = DBTaskResult.objects.filter(
                pk=result.pk, status=TaskResultStatus.RUNNING, started_at=result.started_at
            )
            if lost >= attempts:
                reason = LOST_REASON.format(n=lost)
                done = claimed.update(
                    status=TaskResultStatus.FAILED,
                    finished_at=timezone.now(),
                    exception_class_path="lianfang.imports.recovery.WorkerLost",
                    traceback=reason,
                )
                if done and job_id:
                    ImportJob.objects.filter(pk=job_id).exclude(status=JobStatus.DONE).update(
                        status=JobStatus.FAILED, error=reason, finished_at=timezone.now()
                    )
                action = "failed"
            else:
                done = claimed.update(status=TaskResultStatus.READY, started_at=None)
                if done and job_id:
                    ImportJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
                        status=JobStatus.QUEUED, processed=0, error=""
                    )
                action = "requeued"
        if done:
            log.warning(
                "task %s (job %s) lost its worker %s: %s", result.pk, job_id, result.worker_ids[-1], action
            )
            out.append(Recovered(str(result.pk), job_id, action))
    return out
