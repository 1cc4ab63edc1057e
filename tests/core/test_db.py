"""Bulk writes: the SQLite time text must be exactly the backend's own (SQLite compares it as text)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from django.db import connection
from django.db.backends.sqlite3.base import adapt_datetime
from hypothesis import given, settings
from hypothesis import strategies as st

from lianfang.core.db import BULK_CACHE_MB, bulk_cache, sqlite_time_text, temp_table_from_arrow

naive = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2099, 12, 31))  # noqa: DTZ001


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), naive), max_size=20))
def test_sqlite_time_text_is_the_backends_form(values):
    expected = [None if v is None else adapt_datetime(v) for v in values]
    assert sqlite_time_text(pa.array(values, pa.timestamp("us"))).to_pylist() == expected


def test_sqlite_time_text_writes_zoned_times_as_utc():
    shanghai = dt.timezone(dt.timedelta(hours=8))
    values = pa.array(
        [dt.datetime(2022, 3, 28, 7, 0, tzinfo=shanghai)], pa.timestamp("us", tz="Asia/Shanghai")
    )
    assert sqlite_time_text(values).to_pylist() == ["2022-03-27 23:00:00"]


@pytest.mark.django_db
def test_bulk_written_times_match_the_orms_parameters_on_sqlite():
    """A time written in bulk equals the same time as the ORM passes it (text equality on SQLite)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite stores times as text; PostgreSQL's COPY writes typed instants")
    times = [dt.datetime(2022, 3, 28, 7, 0, 0), dt.datetime(2022, 3, 28, 7, 0, 0, 500)]  # noqa: DTZ001
    temp_table_from_arrow(
        "t_times", pa.table({"n": pa.array([0, 1], pa.int64()), "at": pa.array(times, pa.timestamp("us"))})
    )
    with connection.cursor() as cursor:
        for n, at in enumerate(times):
            cursor.execute("SELECT n FROM t_times WHERE at = %s", [at])
            assert cursor.fetchall() == [(n,)]


@pytest.mark.django_db
def test_bulk_cache_grows_sqlite_cache_for_big_batches_only_and_restores_it():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL has its shared buffers")

    def cache_size():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    usual = cache_size()
    with bulk_cache(10):
        assert cache_size() == usual
    with pytest.raises(RuntimeError), bulk_cache(1_000_000):
        assert cache_size() == -BULK_CACHE_MB * 1024 != usual
        raise RuntimeError("an import that fails half-way")
    assert cache_size() == usual


def _planner_knows(table: str) -> bool:
    """Whether the database holds planner statistics for ``table``."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return False
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
            return cursor.fetchone()[0] > 0
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0] >= 0  # -1: never analysed (PostgreSQL 14+)


def test_a_big_batch_leaves_the_planner_statistics_on_either_database(transactional_db):
    from lianfang.core.db import analyze_after_bulk
    from lianfang.people.models import Person
    from tests.conftest import make_person, rid

    table = Person._meta.db_table
    for i in range(3):
        make_person(id_number=rid("350582", "19800101", f"01{i}"), name=f"张{'伟芳军'[i]}")
    analyze_after_bulk([table], rows=10)  # a small batch: left to the database's own upkeep
    assert not _planner_knows(table)
    analyze_after_bulk([table], rows=50_000)
    assert _planner_knows(table)
