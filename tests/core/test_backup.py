"""The backup drill: `lianfang backup` taken while an import is writing, restored with `lianfang
restore` into a fresh database, gives the round report of the source at one moment — before the
import or after it, never half of it. Each step is the real command in its own process, on the
database of this run (SQLite, or PostgreSQL when the suite runs there)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import JJ_COMMUNITY, rid
from tests.screening.helpers import SAMPLE_HEADER, sample, write_csv

pytestmark = pytest.mark.slow

PERSONS_HEADER = ["community_code", "id_type", "id_number", "name", "phone"]


def _people(n: int, offset: int = 0) -> list[str]:
    return [rid("350582", "19800101", f"{i:03d}") for i in range(offset, offset + n)]


class Place:
    """One database the commands run against: a data folder (SQLite) or a PostgreSQL database."""

    def __init__(self, root: Path, name: str):
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("LIANFANG_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
        }
        self.env["LIANFANG_DATA_DIR"] = str(root / name)
        self.dbname = None
        if connection.vendor == "postgresql":
            import psycopg

            base = os.environ["LIANFANG_DATABASE_URL"].rpartition("/")[0]
            self.dbname = f"lianfang_drill_{name}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.dbname}"')
            self.base = base
            self.env["LIANFANG_DATABASE_URL"] = f"{base}/{self.dbname}"

    def drop(self):
        if self.dbname:
            import psycopg

            with psycopg.connect(f"{self.base}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')

    def start(self, *args) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "lianfang", *map(str, args)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "lianfang", *map(str, args)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if ok:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    def report(self, out: Path) -> dict[str, str]:
        self.run("round", "report", "R1", "--out", out)
        return {p.name: p.read_text(encoding="utf-8-sig") for p in sorted(out.iterdir())}


@pytest.fixture
def places(tmp_path, db):
    made = []

    def make(name):
        place = Place(tmp_path, name)
        made.append(place)
        return place

    yield make
    for place in made:
        place.drop()


def test_a_backup_taken_during_an_import_restores_one_moment(tmp_path, places):
    source = places("source")
    source.run("init")
    people = _people(600)
    write_csv(
        tmp_path / "persons.csv",
        PERSONS_HEADER,
        [
            {
                "community_code": JJ_COMMUNITY,
                "id_type": "resident_id",
                "id_number": p,
                "name": f"居民{i}",
                "phone": "",
            }
            for i, p in enumerate(people)
        ],
    )
    write_csv(
        tmp_path / "sites.csv",
        ["site_code", "name", "community_code"],
        [{"site_code": "S01", "name": "点", "community_code": JJ_COMMUNITY}],
    )
    source.run("import", "persons", tmp_path / "persons.csv")
    source.run("import", "sites", tmp_path / "sites.csv")
    source.run("round", "open", "R1", "--name", "演练", "--scope", "350582", "--start", "2022-03-28 06:00")
    first = [sample(f"A{i // 10}", p, site="S01") for i, p in enumerate(people[:200])]
    second = [sample(f"B{i // 10}", p, site="S01") for i, p in enumerate(people[200:])]
    write_csv(tmp_path / "first.csv", SAMPLE_HEADER, first)
    write_csv(tmp_path / "second.csv", SAMPLE_HEADER, second)
    source.run("import", "samples", tmp_path / "first.csv")
    before = source.report(tmp_path / "before")

    # The backup runs while the second file is being imported.
    importing = source.start("import", "samples", tmp_path / "second.csv", "--json")
    backup = source.run("backup", tmp_path / "backup")
    assert importing.wait(timeout=600) == 0, importing.stderr.read()
    after = source.report(tmp_path / "after")
    assert before != after
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"]["people_person"] == 600 and "rows in" in backup.stdout

    target = places("target")
    restored = target.run("restore", tmp_path / "backup")
    assert "restored" in restored.stdout
    assert target.report(tmp_path / "restored") in (before, after)

    # A second restore onto a database that now holds data is refused and changes nothing.
    again = target.run("restore", tmp_path / "backup", ok=False)
    assert again.returncode == 2 and "--force" in again.stderr
    assert target.report(tmp_path / "still") in (before, after)
    target.run("restore", tmp_path / "backup", "--force")


def test_backup_and_restore_refuse_what_they_cannot_do(tmp_path, places):
    place = places("lonely")
    place.run("init")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    done = place.run("backup", tmp_path / "full", ok=False)
    assert done.returncode == 2 and "not empty" in done.stderr
    done = place.run("restore", tmp_path / "nothing", ok=False)
    assert done.returncode == 2 and "not a Lianfang backup" in done.stderr
    (tmp_path / "other").mkdir()
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    (tmp_path / "other" / "manifest.json").write_text(
        json.dumps({"engine": other, "taken_at": "x", "migrations": 1, "rows": {}})
    )
    done = place.run("restore", tmp_path / "other", ok=False)
    assert done.returncode == 2 and f"this is a {other} backup" in done.stderr
