"""Disk full (issue 15, item 6): an import that hits the limit fails with "disk full" in Chinese and
English and leaves the database exactly as it was; with space again the same file imports whole.

The CLI drill runs SQLite on a real small filesystem (a tmpfs mounted with ``size=``; it needs
root, else it is skipped with the reason). The upload drill is simulated at the database API (the
error SQLite and PostgreSQL raise), on whichever database the suite runs."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from bench._stack import Stack
from django.db import OperationalError, connection

from lianfang.imports.models import ImportJob, JobStatus
from lianfang.imports.services import DISK_FULL, import_job_run
from lianfang.people.models import Person
from tests.conftest import JJ_COMMUNITY
from tests.faults.conftest import just_now, people

ROWS = 40_000


@pytest.fixture
def small_disk():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's drill (its database is a file of its own): runs in the suite's SQLite pass")
    folder = Path(tempfile.mkdtemp(prefix="lianfang-faults-full-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}); the upload drill simulates it")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _tables(site: Stack) -> dict[str, int]:
    names = [r[0] for r in site.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {n: site.query(f'SELECT count(*) FROM "{n}"')[0][0] for n in names}


@pytest.mark.slow
def test_an_import_that_fills_the_disk_fails_as_disk_full_and_changes_nothing(tmp_path, small_disk):
    site = Stack(tmp_path / "full", data_dir=small_disk)
    ids = people(ROWS)
    site.prepare(people=ids[:100], sites=["S01"], community=JJ_COMMUNITY)
    # The disk made full: 1 MiB left after the prepared database (a fixed size breaks whenever the
    # schema grows; 40,000 samples need several).
    used_kib = shutil.disk_usage(small_disk).used // 1024
    subprocess.run(["mount", "-o", f"remount,size={used_kib + 1024}k", str(small_disk)], check=True)
    big = tmp_path / "samples.csv"
    when = just_now()
    with open(big, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["round_code", "tube_barcode", "pool_size", "id_number", "site_code", "collected_at"])
        w.writerows(["R1", f"F{i // 10:06d}", "10", ids[i], "S01", when] for i in range(ROWS))
    before = _tables(site)

    failed = site.run("import", "samples", big, "--json", ok=False)
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "disk full" in failed.stderr and "磁盘已满" in failed.stderr and "Traceback" not in failed.stderr
    assert _tables(site) == before  # not a tube, not a person, not an audit row more
    assert site.integrity() == "ok"

    subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
    again = site.run("import", "samples", big, "--json")
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["read"] == summary["accepted"] == ROWS
    assert site.query("SELECT count(*) FROM screening_sample")[0][0] == ROWS
    assert site.integrity() == "ok"


@pytest.mark.django_db
def test_an_upload_that_meets_a_full_disk_fails_with_the_reason_and_stores_nothing(county_user, tmp_path):
    path = tmp_path / "grid.csv"
    ids = people(50)
    path.write_text(
        "id_number,name,community_code\n" + "".join(f"{i},居民,{JJ_COMMUNITY}\n" for i in ids),
        encoding="utf-8",
    )
    job = ImportJob.objects.create(
        kind="persons", user=county_user, file_path=str(path), original_name="grid.csv", ip="127.0.0.1"
    )
    before = Person.objects.dangerously_all().count()
    message = "database or disk is full" if connection.vendor == "sqlite" else "could not extend file"

    def full(execute, sql, params, many, context):
        if ("INSERT" in sql.upper() or "COPY" in sql.upper()) and "people_person" in sql:
            raise OperationalError(message)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(full):
        import_job_run(job_id=str(job.pk))  # a known fault: no traceback, the job says why
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == DISK_FULL
    assert "磁盘已满" in job.error and "disk is full" in job.error
    assert Person.objects.dangerously_all().count() == before
