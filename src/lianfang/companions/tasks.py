from __future__ import annotations

from django_tasks import task

from lianfang.companions.services import companions_run_execute


@task()
def run_companions(run_id: str) -> None:
    companions_run_execute(run_id=run_id)
