"""SQLite's settings are the multi-process-safe ones (docs/operations.md), and a disk I/O error met
in the middle of a device batch is answered 503, logged loudly with SQLite's own code, never tried
a second time, and leaves nothing half-stored: the device's resend stores the batch once."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from django.db import OperationalError, connection
from django.db.backends.sqlite3.base import DatabaseWrapper
from django.test import Client

from lianfang.accounts.roles import Role
from lianfang.screening import services
from lianfang.screening.models import Sample, Site, Tube
from tests.conftest import JINJIANG, JJ_COMMUNITY, make_person, make_user, rid
from tests.screening.helpers import ROUND_START


def test_sqlite_connections_use_only_the_multi_process_safe_settings(tmp_path, django_db_blocker):
    from lianfang.config import settings as project

    wrapper = DatabaseWrapper(
        {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(tmp_path / "one.sqlite3"),
            "OPTIONS": project.SQLITE_OPTIONS,
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
        },
        alias="pragmas",
    )
    try:
        with django_db_blocker.unblock(), wrapper.cursor() as cursor:
            got = {}
            for pragma in ("journal_mode", "synchronous", "mmap_size", "temp_store", "cache_size"):
                cursor.execute(f"PRAGMA {pragma}")
                got[pragma] = cursor.fetchone()[0]
    finally:
        wrapper.close()
    # WAL, NORMAL (1), no memory map, temp tables in memory (2), a 64 MB cache.
    assert got == {
        "journal_mode": "wal",
        "synchronous": 1,
        "mmap_size": 0,
        "temp_store": 2,
        "cache_size": -65536,
    }


def _io_error() -> OperationalError:
    """The error as Django raises it from SQLite: its OperationalError caused by sqlite3's, which
    carries the extended result code."""
    cause = sqlite3.OperationalError("disk I/O error")
    cause.sqlite_errorcode, cause.sqlite_errorname = 522, "SQLITE_IOERR_SHORT_READ"
    error = OperationalError(*cause.args)
    error.__cause__ = cause
    return error


@pytest.fixture
def device(db):
    services.round_open(actor=None, code="R1", name="第一轮", scope=[JINJIANG], starts_at=ROUND_START)
    site = Site.objects.create(
        code="S1", name="一号点", community_id=JJ_COMMUNITY, town_code=JJ_COMMUNITY[:9], county_code=JINJIANG
    )
    sampler = make_user("desk1", Role.SAMPLER, [JINJIANG])
    _, raw = services.device_token_issue(user=sampler, name="desk", site=site)
    return Client(headers={"authorization": f"Bearer {raw}"}, raise_request_exception=False)


def test_an_io_error_mid_batch_is_a_logged_503_tried_once_and_the_resend_stores_once(device, caplog):
    ids = [rid("350582", "19800101", f"{i:03d}") for i in range(10)]
    for i in ids[:5]:
        make_person(id_number=i)
    body = {
        "round_code": "R1",
        "tube_barcode": "T1",
        "pool_size": 10,
        "members": [{"id_number": i, "collected_at": "2022-03-28 08:00"} for i in ids],
    }
    attempts = []

    def failing_sample_insert(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and "screening_sample" in sql:
            attempts.append(sql)
            raise _io_error()
        return execute(sql, params, many, context)

    with caplog.at_level(logging.ERROR, logger="lianfang.config.load"):
        with connection.execute_wrapper(failing_sample_insert):
            response = device.post("/api/v1/screening/tubes", body, content_type="application/json")
    assert response.status_code == 503, response.content[:300]
    assert "数据库读写出错" in response.json()["detail"] and "I/O error" in response.json()["detail"]
    assert int(response["Retry-After"]) >= 1
    assert len(attempts) == 1  # the write that failed was not retried behind the device's back
    loud = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert loud and "SQLITE_IOERR_SHORT_READ" in loud[0].getMessage() and loud[0].exc_info
    # Nothing of the batch is stored: not the tube, not a member, not an unregistered visitor.
    assert not Tube.objects.filter(barcode="T1").exists() and not Sample.objects.exists()

    first = device.post("/api/v1/screening/tubes", body, content_type="application/json")
    assert first.status_code == 200 and first.json()["accepted"] == 10
    again = device.post("/api/v1/screening/tubes", body, content_type="application/json").json()
    assert (again["accepted"], again["duplicate"]) == (0, 10)
    assert Sample.objects.filter(tube__barcode="T1").count() == 10


@pytest.mark.parametrize(
    "sqlstate, message, kind",
    [
        ("XX001", 'could not read block 7 in file "base/16384/16390": read only 0 of 8192 bytes', "damaged"),
        ("XX002", "index contains unexpected zero page at block 3", "damaged"),
        ("53100", 'could not extend file "base/16384/16390": No space left on device', "full"),
        ("23505", "duplicate key value violates unique constraint", None),
    ],
)
def test_postgresql_faults_are_told_by_their_sqlstate(sqlstate, message, kind):
    from lianfang.core.db import unavailable

    class PgError(Exception):
        pass

    cause = PgError(message)
    cause.sqlstate = sqlstate
    error = OperationalError(message)
    error.__cause__ = cause
    assert unavailable(error) == kind
