"""The ``lianfang`` command: init, serve, worker, import, and each app's own subcommands (declared
in its plugin); anything else goes to Django's manage.py."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lianfang.core.commands import fail, needs_database, print_summary


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lianfang.config.settings")
    import django

    django.setup()


def _init(verbose: bool = True) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from lianfang.geo.services import divisions_load_shipped

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        Path(settings.DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    summary = divisions_load_shipped()
    if verbose:
        print(
            f"database ready; divisions: {summary.accepted} loaded, {summary.duplicate} already there"
            f" / 数据库就绪，区划 {summary.accepted} 条新载入"
        )


def cmd_init(args) -> int:
    _init()
    return 0


@needs_database
def cmd_import(args) -> int:
    from lianfang.core import plugins
    from lianfang.core.errors import Refused
    from lianfang.core.reader import ImportFileError
    from lianfang.imports.services import import_file, memory_ceiling

    importer = plugins.importer(args.kind)
    if importer.files == "one" and len(args.files) != 1:
        return fail(f"import {args.kind} takes one file / 一次导入一个文件")
    try:
        with memory_ceiling():  # LIANFANG_IMPORT_MEMORY_MB (imports.services.memory_ceiling)
            if importer.files == "many":
                run = plugins.resolve(importer.run)
                summary = run(paths=args.files, actor=None, rejects_path=args.rejects)
            else:
                summary = import_file(
                    kind=args.kind, path=args.files[0], actor=None, rejects_path=args.rejects
                )
    except ImportFileError as exc:
        return fail(f"cannot import {args.files}: {exc}")
    except Refused as exc:
        return fail(str(exc))
    except FileNotFoundError as exc:
        return fail(f"file not found / 文件不存在: {exc.filename}")
    print_summary(summary, args.json)
    return 0


def _gunicorn_args(host: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "lianfang.config.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        # Thread workers accept a surge and shed it with a quick 503 (config/load.py); the
        # Django work itself runs LIANFANG_ACTIVE_REQUESTS at a time per process. Accepted
        # connections are bounded too (as many as threads), so nothing waits unseen in gunicorn's
        # own queue, and no connection is kept alive past its answer (with every connection busy
        # gunicorn could not keep one anyway, and warned so at each start). --threads 1 is
        # gunicorn's plain sync worker.
        *(
            [
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
                "--worker-connections",
                str(threads),
                "--keep-alive",
                "0",
            ]
            if threads > 1
            else ["--worker-class", "sync"]
        ),
        "--timeout",
        "120",
        "--access-logfile",
        "-",
    ]


def _die_with_parent() -> None:
    """In a child before it runs: ask Linux to send it SIGTERM when its parent (the server) ends,
    however it ends, so a worker started beside the server never outlives it."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the server's on_exit hook still stops it
        pass


def _serve(
    host: str, port: int, workers: int, threads: int = 8, *, worker: bool = False, retry: str | None = None
) -> int:
    """Serve with gunicorn (this process becomes the server). ``worker``: run the background tasks'
    worker beside it, ended with it. A port in use is said before anything starts (exit 2), with
    ``retry`` (a command with ``{port}``) as the way out."""
    import subprocess

    from django.core.management import call_command

    from lianfang.core.commands import PortInUse, require_free_port

    try:
        require_free_port(host, port, retry or f"lianfang serve --port {{port}} --host {host}")
    except PortInUse as exc:
        return fail(str(exc))
    call_command("collectstatic", interactive=False, verbosity=0)
    if worker:
        # Started from this process, which then becomes gunicorn (exec keeps the process): the
        # worker's parent is the server, and it gets SIGTERM when the server ends.
        beside = subprocess.Popen(
            [sys.executable, "-m", "lianfang", "worker"], preexec_fn=_die_with_parent, close_fds=True
        )
        beside.returncode = 0  # it is the server's to end, not this (replaced) process's to wait for
    os.execvp(sys.executable, _gunicorn_args(host, port, workers, threads))
    return 0  # not reached


def cmd_serve(args) -> int:
    return _serve(args.host, args.port, args.workers, args.threads)


@needs_database
def cmd_worker(args) -> int:
    """The background worker: before its first task it requeues (or fails) the tasks of this host's
    dead workers (imports/recovery.py, which is why it runs under a name a later worker can tell
    died), and while it runs it beats, so the job pages can say whether anyone will run a queued
    upload (imports.services.worker_running). It also runs the apps' timed jobs (imports/schedule.py)
    unless given ``--no-schedule``."""
    import threading

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from lianfang.imports.recovery import stale_tasks_recover, worker_id
    from lianfang.imports.services import WORKER_BEAT_SECONDS, worker_beat, worker_gone

    if settings.TASKS["default"]["BACKEND"].endswith("DatabaseBackend"):
        for lost in stale_tasks_recover():
            print(
                f"task {lost.task_id} (import job {lost.job_id}) lost its worker: {lost.action}", flush=True
            )
    rest = list(args.rest)
    scheduled = "--no-schedule" not in rest
    rest = [a for a in rest if a != "--no-schedule"]
    name = next((a.split("=", 1)[1] for a in rest if a.startswith("--worker-id=")), None)
    if "--worker-id" in rest[:-1]:
        name = rest[rest.index("--worker-id") + 1]
    if name is None:
        name = worker_id()
        rest += ["--worker-id", name]
    started = timezone.now()
    stop = threading.Event()

    def beat() -> None:
        while True:
            try:
                worker_beat(name=name, started_at=started)
            except Exception:  # a busy database: the next beat tries again
                pass
            finally:
                connection.close()
            if stop.wait(WORKER_BEAT_SECONDS):
                return

    def schedule() -> None:
        """The timed jobs (``Plugin.periodic``): each interval once across all workers."""
        from lianfang.imports.schedule import TICK_SECONDS, run_due

        while True:
            try:
                for ran in run_due(worker=name):
                    said = ran.outcome if not ran.error else f"FAILED {ran.error}"
                    print(f"periodic {ran.name}: {said}", flush=True)
            except Exception as exc:  # a busy database: the next tick tries again
                print(f"periodic jobs not run this tick: {exc}", flush=True)
            finally:
                connection.close()
            if stop.wait(TICK_SECONDS):
                return

    threading.Thread(target=beat, name="worker-heartbeat", daemon=True).start()
    if scheduled:
        threading.Thread(target=schedule, name="worker-schedule", daemon=True).start()
    try:
        call_command("db_worker", *rest)
    finally:
        stop.set()
        try:
            worker_gone(name=name)
        except Exception:  # the row ages out by itself
            pass
    return 0


@needs_database
def cmd_schedule_list(args) -> int:
    from lianfang.imports.schedule import job_states

    for state in job_states():
        job, last = state.job, state.last
        if last is None:
            said = "never run / 未运行"
        else:
            said = f"{last.started_at:%Y-%m-%d %H:%M:%S} {'FAILED ' + last.error if last.error else last.outcome}"
            if last.finished_at is None:
                said += " (running / 运行中)"
        print(f"{job.name:24} every {job.every_seconds:>5}s  {said}")
        if job.help:
            print(f"{'':24} {job.help}")
    return 0


@needs_database
def cmd_schedule_run(args) -> int:
    from lianfang.imports.schedule import run_due

    ran = run_due(worker="cli")
    for r in ran:
        print(f"{r.name}: {r.outcome if not r.error else 'FAILED ' + r.error}")
    if not ran:
        print("nothing due / 没有到期的定时任务")
    return 1 if any(r.error for r in ran) else 0


@needs_database
def cmd_backup(args) -> int:
    from lianfang.core.backup import BackupError, backup

    try:
        manifest = backup(Path(args.folder))
    except BackupError as exc:
        return fail(str(exc))
    total = sum(manifest.rows.values())
    print(f"backup of the {manifest.engine} database at {manifest.taken_at}: {total:,} rows in {args.folder}")
    return 0


@needs_database
def cmd_restore(args) -> int:
    from lianfang.core.backup import BackupError, restore

    try:
        manifest = restore(Path(args.folder), force=args.force)
    except BackupError as exc:
        return fail(str(exc))
    total = sum(manifest.rows.values())
    print(f"restored the backup of {manifest.taken_at}: {total:,} rows / 已恢复 {manifest.taken_at} 的备份")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The shared commands, then every installed app's own (declared in its plugin)."""
    from lianfang.core import plugins
    from lianfang.core.commands import CliTools

    parser = argparse.ArgumentParser(
        prog="lianfang",
        description="联防 Lianfang — epidemic response command platform. "
        "Any other word is passed to Django's manage.py (migrate, createsuperuser …).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="create or upgrade the database and load the shipped divisions")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="serve the site with gunicorn")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    p.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=8, help="threads per worker (1: plain sync workers)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run background tasks (web uploads); `make demo` starts one itself")
    p.add_argument(
        "rest",
        nargs=argparse.REMAINDER,
        help="--no-schedule (leave the timed jobs to other workers or to `lianfang schedule run`); "
        "other options go to Django's db_worker (see `lianfang db_worker --help`)",
    )
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("schedule", help="the timed jobs every worker runs: list them, or run what is due now")
    ps = p.add_subparsers(dest="action", required=True)
    s = ps.add_parser("list", help="each job, its interval and its latest run")
    s.set_defaults(func=cmd_schedule_list)
    s = ps.add_parser(
        "run", help="run the jobs whose interval nobody has run yet (for cron, without a worker)"
    )
    s.set_defaults(func=cmd_schedule_run)

    p = sub.add_parser(
        "backup", help="copy the whole database into a new folder while serving (docs/operations.md)"
    )
    p.add_argument("folder", help="a folder that does not exist yet, or is empty")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="put a backup folder back into the configured database")
    p.add_argument("folder", help="a folder written by `lianfang backup`")
    p.add_argument("--force", action="store_true", help="replace a database that already holds data")
    p.set_defaults(func=cmd_restore)

    kinds = sorted(plugins.importers())
    p = sub.add_parser("import", help=f"import a file: {', '.join(kinds)}")
    p.add_argument("kind", choices=kinds, help="what the file holds (FORMATS.md)")
    p.add_argument("files", nargs="+", help="CSV, XLSX or Parquet (divisions: several files)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--rejects", help="write rejected rows with a reason column to this CSV")
    p.set_defaults(func=cmd_import)

    tools = CliTools(init=_init, serve=_serve)
    for plugin in plugins.discover():
        if plugin.cli:
            plugins.resolve(plugin.cli)(sub, tools)
    parser.commands = frozenset(sub.choices)
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    _setup()
    parser = build_parser()
    if argv and argv[0] not in parser.commands | {"-h", "--help"}:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["lianfang", *argv])
        return
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "worker":
        args.rest = [*extra, *args.rest]  # db_worker's own options (--interval …) go through as given
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        sys.exit(0)
    sys.exit(args.func(args))
