"""Shared set-up for the benchmarks: a fresh database of the chosen kind, timing, peak memory."""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from contextlib import contextmanager


def prepare_database(db: str, name: str, *, reuse_dir: str | None = None) -> str:
    """Point Lianfang at a fresh database ('sqlite' or a PostgreSQL URL) before Django starts.

    ``reuse_dir``: keep the database an earlier run left there instead (``--reuse``); on
    PostgreSQL the bench's database is then kept too.
    """
    if db == "sqlite":
        folder = reuse_dir or tempfile.mkdtemp(prefix=f"{name}-")
        os.environ["LIANFANG_DATA_DIR"] = folder
        os.environ.pop("LIANFANG_DATABASE_URL", None)
        label = "sqlite"
    else:
        import psycopg

        base, _, dbname = db.rpartition("/")
        dbname = dbname or "lianfang"
        bench_db = f"{dbname}_{name}"
        if reuse_dir is None:
            with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{bench_db}"')
                conn.execute(f'CREATE DATABASE "{bench_db}"')
        os.environ["LIANFANG_DATABASE_URL"] = f"{base}/{bench_db}"
        label = "postgresql"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lianfang.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from lianfang.geo.services import divisions_load_shipped

    call_command("migrate", verbosity=0)
    divisions_load_shipped()
    return label


class Timer:
    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self.baseline: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str, *, baseline: bool = False):
        started = time.perf_counter()
        yield
        took = time.perf_counter() - started
        (self.baseline if baseline else self.phases)[name] = round(took, 3)
        print(f"  {'baseline' if baseline else 'phase':8} {name:<28} {took:8.2f} s", file=sys.stderr)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def result(bench: str, scale: int, db: str, timer: Timer, ratio: dict, *, peak: float | None = None) -> dict:
    """The keys every bench's JSON line starts with (``peak``: the peak RSS, default the process's)."""
    return {
        "bench": bench,
        "scale": scale,
        "db": db,
        "phases": timer.phases,
        "baseline": timer.baseline,
        "ratio": ratio,
        "peak_rss_mb": peak_rss_mb() if peak is None else peak,
    }


def report(
    bench: str, scale: int, db: str, timer: Timer, ratio_of: dict[str, str | tuple[str, str]], **extra
) -> dict:
    """Print the ratios and the JSON line. ``ratio_of``: {phase: baseline}, or {ratio key: (phase,
    baseline)} when a phase is compared with more than one baseline. ``extra``: more JSON keys."""
    pairs = {key: (key, of) if isinstance(of, str) else of for key, of in ratio_of.items()}
    ratio = {
        key: round(timer.phases[phase] / timer.baseline[base], 2) for key, (phase, base) in pairs.items()
    }
    out = {**result(bench, scale, db, timer, ratio), **extra}
    for key, value in ratio.items():
        print(f"  ratio    {key:<28} {value:8.2f} ×  ({pairs[key][0]} vs {pairs[key][1]})", file=sys.stderr)
    print(f"  peak RSS {out['peak_rss_mb']:.0f} MB", file=sys.stderr)
    print(json.dumps(out))
    return out
