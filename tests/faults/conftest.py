"""A whole installation in subprocesses (bench/_stack.py) on a database of its own: a SQLite data
folder, or a fresh database on the suite's PostgreSQL server when the suite runs there."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from bench._stack import Stack
from django.db import connection

from tests.conftest import rid

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def people(n: int, region: str = "350582") -> list[str]:
    day0 = dt.date(1950, 1, 1)
    return [
        rid(region, (day0 + dt.timedelta(days=i // 900)).strftime("%Y%m%d"), f"{100 + i % 900:03d}")
        for i in range(n)
    ]


def just_now(minutes: int = 1) -> str:
    """A collection time a little before now in Quanzhou (after the round opened today at 00:00)."""
    return (dt.datetime.now(SHANGHAI) - dt.timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def stack(tmp_path):
    made: list[Stack] = []
    dropped: list[tuple[str, str]] = []

    def make(name: str = "site") -> Stack:
        url = None
        if connection.vendor == "postgresql":
            import psycopg

            base = os.environ["LIANFANG_DATABASE_URL"].rpartition("/")[0]
            dbname = f"lianfang_faults_{name}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{dbname}"')
            dropped.append((base, dbname))
            url = f"{base}/{dbname}"
        one = Stack(tmp_path / name, url)
        made.append(one)
        return one

    yield make
    for one in made:
        one.stop_all()
    for base, dbname in dropped:
        import psycopg

        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
