"""`lianfang backup DIR` and `lianfang restore DIR`: a consistent copy of the whole database while
the server keeps serving, and its return into an empty database.

SQLite: the online backup API copies the file page by page under one read transaction, so the
copy is the database at one moment even while devices write (WAL mode lets them go on). PostgreSQL:
``pg_dump`` in its custom format, which reads every table in one repeatable-read snapshot;
``pg_restore`` puts it back. The folder holds the copy and ``manifest.json`` (engine, time,
migrations, row counts) so a restore can refuse a copy of the other engine and say what it holds.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from lianfang.core.errors import Refused

MANIFEST = "manifest.json"
SQLITE_FILE = "lianfang.sqlite3"
PG_FILE = "lianfang.pgdump"


class BackupError(Refused):
    pass


@dataclass(frozen=True)
class Manifest:
    engine: str
    taken_at: str
    migrations: int
    rows: dict

    def as_dict(self) -> dict:
        return {
            "engine": self.engine,
            "taken_at": self.taken_at,
            "migrations": self.migrations,
            "rows": self.rows,
        }


def _engine() -> str:
    return "sqlite" if connection.vendor == "sqlite" else "postgresql"


def _tables() -> list[str]:
    """The tables of the platform's own models (what a restore is checked against)."""
    from django.apps import apps

    return sorted(
        model._meta.db_table
        for model in apps.get_models()
        if model.__module__.startswith("lianfang.") and not model._meta.proxy and model._meta.managed
    )


def _count(cursor, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    return counts


def _row_counts() -> dict[str, int]:
    present = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        return _count(cursor, [t for t in _tables() if t in present])


def _libpq(url: str) -> tuple[str, dict]:
    """A URL for pg_dump/pg_restore without its password, which goes in PGPASSWORD instead (a
    command line is visible to every user of the machine)."""
    parts = urllib.parse.urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = urllib.parse.unquote(parts.password)
    netloc = parts.hostname or ""
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(("postgresql", netloc, parts.path, parts.query, "")), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            "no_pg_tools",
            f"找不到 {name}（请安装 postgresql-client）",
            f"{name} not found: install the PostgreSQL client tools",
        )
    return found


def backup(folder: Path) -> Manifest:
    """Copy the database into ``folder`` (created; must be empty) while it keeps serving."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise BackupError("folder_not_empty", f"目录不为空：{folder}", f"the folder is not empty: {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    engine = _engine()
    if engine == "sqlite":
        source = sqlite3.connect(settings.DATABASES["default"]["NAME"], timeout=30)
        target = sqlite3.connect(folder / SQLITE_FILE)
        try:
            source.backup(target, pages=4096)  # copies in steps; a writer between steps restarts it
            # What the copy holds, counted in the copy itself.
            cursor = target.cursor()
            present = {r[0] for r in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            rows = _count(cursor, [t for t in _tables() if t in present])
            migrations = cursor.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
        finally:
            target.close()
            source.close()
    else:
        rows, migrations = _pg_dump(folder / PG_FILE)
    manifest = Manifest(
        engine=engine,
        taken_at=timezone.now().isoformat(timespec="seconds"),
        migrations=migrations,
        rows=rows,
    )
    (folder / MANIFEST).write_text(
        json.dumps(manifest.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return manifest


def _pg_dump(path: Path) -> tuple[dict[str, int], int]:
    """pg_dump of the snapshot this connection holds open, so the counts in the manifest are of
    exactly what the dump holds, whatever devices write meanwhile."""
    url, env = _libpq(settings.DATABASE_URL)
    present = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            rows = _count(cursor, [t for t in _tables() if t in present])
            cursor.execute("SELECT count(*) FROM django_migrations")
            migrations = cursor.fetchone()[0]
            done = subprocess.run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    "--file",
                    str(path),
                    url,
                ],
                env=env,
                capture_output=True,
                text=True,
            )
        finally:
            cursor.execute("COMMIT")
    if done.returncode != 0:
        raise BackupError(
            "pg_dump_failed", f"pg_dump 失败：{done.stderr.strip()}", f"pg_dump failed: {done.stderr.strip()}"
        )
    return rows, migrations


def _read_manifest(folder: Path) -> Manifest:
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(data["engine"], data["taken_at"], int(data["migrations"]), dict(data["rows"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(
            "not_a_backup",
            f"{folder} 不是联防备份（缺少或无法读取 {MANIFEST}）",
            f"{folder} is not a Lianfang backup ({MANIFEST}: {exc})",
        ) from exc


def _is_empty() -> bool:
    """True when the database holds no table of ours, or only empty ones (a fresh `lianfang init`
    loads the shipped divisions: those alone still count as empty)."""
    tables = set(connection.introspection.table_names())
    if "django_migrations" not in tables:
        return True
    return all(n == 0 for t, n in _row_counts().items() if t != "geo_division")


def restore(folder: Path, *, force: bool = False) -> Manifest:
    """Put the copy in ``folder`` back into the configured database, which must be empty unless
    ``force`` (then it is replaced)."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    engine = _engine()
    if engine == "sqlite":  # a fresh machine: the data folder may not be there yet
        Path(settings.DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    if manifest.engine != engine:
        raise BackupError(
            "wrong_engine",
            f"这是 {manifest.engine} 的备份，当前数据库是 {engine}",
            f"this is a {manifest.engine} backup; the database is {engine}",
        )
    if not force and not _is_empty():
        raise BackupError(
            "database_not_empty",
            "当前数据库已有数据；确认要覆盖请加 --force",
            "the database holds data; add --force to replace it",
        )
    if engine == "sqlite":
        copy = folder / SQLITE_FILE
        if not copy.exists():
            raise BackupError("not_a_backup", f"缺少 {copy}", f"{copy} is missing")
        connection.close()
        target_path = Path(settings.DATABASES["default"]["NAME"])
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(copy)
        target = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        copy = folder / PG_FILE
        if not copy.exists():
            raise BackupError("not_a_backup", f"缺少 {copy}", f"{copy} is missing")
        connection.close()
        url, env = _libpq(settings.DATABASE_URL)
        done = subprocess.run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                url,
                str(copy),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise BackupError(
                "pg_restore_failed",
                f"pg_restore 失败：{done.stderr.strip()}",
                f"pg_restore failed: {done.stderr.strip()}",
            )
    restored = _row_counts()
    differing = {t: (n, restored.get(t)) for t, n in manifest.rows.items() if restored.get(t) != n}
    if differing:
        raise BackupError(
            "restore_incomplete",
            f"恢复后行数与备份不符：{differing}",
            f"the restored row counts differ from the backup's: {differing}",
        )
    return manifest
