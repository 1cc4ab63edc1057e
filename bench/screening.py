"""A city-wide screening round end to end: samples, results and the round report, against raw baselines.

    python bench/screening.py --persons 1000000 [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang_bench]

Set-up (timed, not part of the ratios): generate the synthetic city (numpy), write the round's files
into a scratch directory, load the registry through ``lianfang import persons``, open the round
(scope ``3505``, the whole city) and import ``sites.csv`` and ``labs.csv``.

The files (``lianfang.simulate.screening_files.write_files``, whose docstring describes them):
``persons.csv``, ``sites.csv`` (one site per ~2,500 people), ``labs.csv`` (10 labs),
``samples.csv`` (~95 % of the registry and a few visitors in 10-person pools, with late pools,
resent rows and bad rows), ``results.csv`` (one result per tube, re-runs, resent rows, held and
pending tubes), and Parquet copies of persons, samples and results and the community list, for
the DuckDB baseline.

Timed phases (the real code path, ``actor=None`` as the CLI): ``import_samples`` and
``import_results`` (``lianfang.imports.services.import_file``), ``round_report``
(``lianfang.screening.report.round_report_write``: the five files of FORMATS.md).

Baselines, in the same process on the same files:

* ``raw_load`` — samples.csv and results.csv read with the csv module and bulk-loaded into two
  plain tables (text columns, no index) of the same database: SQLite executemany in one
  transaction, PostgreSQL COPY (``lianfang.core.db.bulk_insert``, as in people_import.py).
* ``indexed_load`` — the rows the two imports left in the product's tables (``screening_tube``,
  ``screening_sample``, ``screening_result``, ``screening_recheck_task``…, and the
  ``people_person`` rows created for unregistered people: every table whose integer key grew
  during an import), read back after the run and loaded by COPY (PostgreSQL) / executemany
  (SQLite) in one transaction into empty copies of those tables with every index and constraint
  they have (``bench/_indexed.py``). It is the cheapest way to store the imports' final rows in
  the product's schema: no reading, checking, joining or deciding. ``indexed_load_samples`` and
  ``indexed_load_results`` are the loads of each import's rows alone (the commit is in the total).
* ``duckdb_report`` — plain DuckDB SQL computing the same five report files straight from the
  Parquet files written at generation (applying the row rules the data needs: ID check digit,
  known site, time, duplicates, pool capacity; result validity and duplicates; held results).
  Its summary must equal the product's ``summary.json`` (the run fails loudly otherwise); the
  other four files are compared byte for byte and any difference is reported.

Ratios: ``ingest_vs_indexed`` = (import_samples + import_results) / indexed_load, goal ≤ 2×;
``ingest`` = the same over raw_load (the earlier goal, ≤ 4×, which PostgreSQL cannot reach while
it keeps the unique (tube, person) key: kept for comparison); ``import_samples_vs_indexed`` and
``import_results_vs_indexed`` per import; report = round_report / duckdb_report, goal ≤ 1.5×; peak
RSS goal ≤ 4 GB. Generating the city and loading the registry run
in a child process (``peak_rss_setup_child_mb``), so that the memory they leave behind does not
count against the screening phases; ``peak_rss_mb`` is the whole main process (the baselines
included) and ``peak_rss_screening_mb`` the peak during the three timed phases alone (Linux
``clear_refs``). ``--profile FILE`` runs the three timed phases under cProfile. ``--reuse DIR``
runs the timed phases again on the registry and files an earlier run left (its ``setup.json``):
at 10 M people the registry load alone takes 20-45 minutes.

If an import fails as one file (a database error — e.g. a statement with more bound parameters
than SQLite or PostgreSQL allow), the failure and its time are printed and kept in the JSON line
(``imports``), and the same rows are imported again as consecutive files of ``--chunk-rows`` rows
(a lab posting batches); that time is then the phase's, and the JSON says so.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from lianfang.analytics.screening import SUMMARY_KEYS, TIME_FORMAT
from lianfang.people.idnumbers import check_digit_sql
from lianfang.simulate.screening_files import DAY, LABS, ROUND_CODE, write_files

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, peak_rss_mb, prepare_database, result  # noqa: E402
from _indexed import PREFIX, id_marks, indexed_load, written  # noqa: E402

SCOPE = "3505"


# ---------------------------------------------------------------------------------------------
# Peak memory of a stretch of the run (Linux: reset the high-water mark, read it back)


_PEAK_SO_FAR = [0.0]  # the process's peak before the last reset (a reset also lowers ru_maxrss)


def hwm_reset() -> None:
    _PEAK_SO_FAR[0] = max(_PEAK_SO_FAR[0], hwm_mb())
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _proc_status_mb(field: str) -> float | None:
    """A size line of /proc/self/status (``VmHWM``, ``VmRSS``) in MB; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def hwm_mb() -> float:
    hwm = _proc_status_mb("VmHWM")
    return peak_rss_mb() if hwm is None else hwm


def rss_mb() -> float:
    return _proc_status_mb("VmRSS") or 0.0


def whole_run_peak_mb() -> float:
    return max(_PEAK_SO_FAR[0], hwm_mb(), peak_rss_mb())


# ---------------------------------------------------------------------------------------------
# Baseline 1: raw bulk load of the two files into plain tables


def raw_load(folder: Path) -> int:
    from django.db import connection, transaction

    from lianfang.core.db import bulk_insert

    loaded = 0
    for name in ("samples", "results"):
        table = f"bench_raw_{name}"
        with open(folder / f"{name}.csv", encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")
                    cursor.execute(f"CREATE TABLE {table} ({', '.join(f'{c} TEXT' for c in header)})")
                loaded += bulk_insert(table, header, reader)
    return loaded


# ---------------------------------------------------------------------------------------------
# Baseline 2: the round report in plain DuckDB SQL from the generated files


def duckdb_report(folder: Path, out: Path, *, start: dt.datetime) -> dict:
    """The five report files of the round, from persons/samples/results Parquet, sites.csv, labs.csv."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    start_local = start.astimezone(dt.timezone(dt.timedelta(hours=8)))
    d = start_local.date()
    try:
        cutoff = d.replace(year=d.year - 2)
    except ValueError:
        cutoff = dt.date(d.year - 2, 2, 28)
    f = {
        k: str(folder / v)
        for k, v in {
            "persons": "persons.parquet",
            "samples": "samples.parquet",
            "results": "results.parquet",
            "communities": "communities.parquet",
            "sites": "sites.csv",
            "labs": "labs.csv",
        }.items()
    }
    con = duckdb.connect()
    q = con.execute
    q(
        f"CREATE TEMP TABLE sc AS SELECT community_code, community_name FROM read_parquet('{f['communities']}') "
        f"WHERE starts_with(community_code, '{SCOPE}')"
    )
    q(f"CREATE TEMP TABLE site AS SELECT site_code FROM read_csv('{f['sites']}', all_varchar = true)")
    q(f"CREATE TEMP TABLE lab AS SELECT lab_code FROM read_csv('{f['labs']}', all_varchar = true)")
    q(
        f"CREATE TEMP TABLE person AS SELECT id_type, id_number, name, phone, community_code, address, tags, "
        f"CAST(birth_date AS DATE) AS birth_date FROM read_parquet('{f['persons']}')"
    )
    # Sample rows: the rules this data needs, then first valid row per (tube, person), pool capacity.
    q(f"""
        CREATE TEMP TABLE s0 AS
        SELECT file_row_number AS pos, trim(round_code) AS round_code, trim(tube_barcode) AS barcode,
               upper(trim(id_number)) AS id_number, coalesce(nullif(lower(trim(id_type)), ''), 'resident_id') AS id_type,
               trim(name) AS name, trim(site_code) AS site_code, trim(box_code) AS box_code,
               TRY_CAST(pool_size AS INTEGER) AS pool_size,
               try_strptime(trim(collected_at), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']) AS ts
        FROM read_parquet('{f["samples"]}', file_row_number = true)
    """)
    q(f"""
        CREATE TEMP TABLE sv AS
        SELECT pos, barcode, id_number, id_type, name, site_code, box_code, pool_size, ts FROM s0
        WHERE round_code = '{ROUND_CODE}' AND id_type = 'resident_id'
          AND regexp_full_match(id_number, '[0-9]{{17}}[0-9X]')
          AND {check_digit_sql("id_number")} = id_number[18]
          AND CAST(try_strptime(substr(id_number, 7, 8), '%Y%m%d') AS DATE) <= current_date
          AND site_code IN (SELECT site_code FROM site)
          AND pool_size IN (1, 5, 10, 20) AND ts IS NOT NULL
    """)
    q("""
        CREATE TEMP TABLE acc AS
        WITH d AS (SELECT barcode, arg_min(pool_size, pos) AS d_pool FROM sv GROUP BY barcode),
        f AS (SELECT sv.*, d.d_pool,
                     row_number() OVER (PARTITION BY sv.barcode, sv.id_type, sv.id_number ORDER BY pos) AS occ
              FROM sv JOIN d USING (barcode) WHERE sv.pool_size = d.d_pool)
        SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY barcode ORDER BY pos) AS nth FROM f WHERE occ = 1)
        WHERE nth <= d_pool
    """)
    q("""
        CREATE TEMP TABLE tube AS
        SELECT barcode, arg_min(site_code, pos) AS site_code, arg_min(box_code, pos) AS box_code,
               min(ts) AS first_ts, count(*) AS members
        FROM acc GROUP BY barcode
    """)
    q(f"""
        CREATE TEMP TABLE res AS
        SELECT DISTINCT trim(r.tube_barcode) AS barcode, trim(r.lab_code) AS lab_code, trim(r.result) AS result,
               TRY_CAST(nullif(trim(r.ct_orf1ab), '') AS DOUBLE) AS ct1, TRY_CAST(nullif(trim(r.ct_n), '') AS DOUBLE) AS ct2,
               try_strptime(trim(r.reported_at), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']) AS ts
        FROM read_parquet('{f["results"]}') r
        WHERE trim(r.lab_code) IN (SELECT lab_code FROM lab)
          AND trim(r.result) IN ('negative', 'positive', 'inconclusive', 'invalid')
          AND try_strptime(trim(r.reported_at), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']) IS NOT NULL
    """)
    q("""
        CREATE TEMP TABLE teff AS
        SELECT t.*, coalesce(r.n, 0) AS n_results,
               CASE WHEN r.pos OR r.inc THEN 3 WHEN r.neg THEN 2 WHEN r.inv THEN 1 ELSE 0 END AS rank,
               CASE WHEN r.pos THEN 'positive' WHEN r.inc THEN 'inconclusive' ELSE 'invalid' END AS reason
        FROM tube t LEFT JOIN (
            SELECT barcode, count(*) AS n, bool_or(result = 'positive') AS pos, bool_or(result = 'inconclusive') AS inc,
                   bool_or(result = 'negative') AS neg, bool_or(result = 'invalid') AS inv
            FROM res GROUP BY barcode) r USING (barcode)
    """)
    q("""
        CREATE TEMP TABLE pstat AS
        SELECT a.id_type, a.id_number, max(t.rank) AS rank, bool_or(t.rank = 2) AS has_neg
        FROM acc a JOIN teff t USING (barcode) GROUP BY a.id_type, a.id_number
    """)
    q(f"""
        CREATE TEMP TABLE exp AS
        SELECT p.*, coalesce(p.birth_date > DATE '{cutoff.isoformat()}', false) AS exempt, ps.rank
        FROM person p JOIN sc USING (community_code)
        LEFT JOIN pstat ps ON ps.id_type = p.id_type AND ps.id_number = p.id_number
    """)

    def one(sql: str) -> tuple:
        return con.execute(sql).fetchall()[0]

    cov = """
        SELECT substr(sc.community_code, 1, 6) AS county_code, substr(sc.community_code, 1, 9) AS town_code,
               sc.community_code, sc.community_name,
               count(e.id_number) AS expected, count(*) FILTER (WHERE e.exempt) AS exempt,
               count(*) FILTER (WHERE e.rank IS NOT NULL) AS sampled, count(*) FILTER (WHERE e.rank = 2) AS negative,
               count(*) FILTER (WHERE e.rank = 0) AS pending, count(*) FILTER (WHERE e.rank = 1) AS invalid,
               count(*) FILTER (WHERE e.rank = 3) AS abnormal,
               count(*) FILTER (WHERE NOT e.exempt AND e.rank IS NULL) AS untested
        FROM sc LEFT JOIN exp e USING (community_code)
        GROUP BY ALL
    """
    q(f"CREATE TEMP TABLE cov AS {cov}")
    copy = "(HEADER, DELIMITER ',')"
    q(f"""COPY (SELECT *, printf('%.4f', CASE WHEN expected = 0 THEN 0.0
                       ELSE ((sampled * 20000 + expected) // (2 * expected))::DOUBLE / 10000 END) AS coverage
             FROM cov ORDER BY community_code) TO '{out / "coverage.csv"}' {copy}""")
    q(f"""COPY (SELECT community_code, id_type, id_number, nullif(name, '') AS name, nullif(phone, '') AS phone,
                   nullif(address, '') AS address, nullif(tags, '') AS tags
             FROM exp WHERE NOT exempt AND rank IS NULL ORDER BY community_code, id_number)
          TO '{out / "untested.csv"}' {copy}""")
    q(f"""COPY (SELECT a.barcode AS tube_barcode, t.reason, a.id_type, a.id_number,
                   nullif(coalesce(p.name, a.name), '') AS name, nullif(p.phone, '') AS phone,
                   p.community_code, t.site_code, strftime(a.ts, '{TIME_FORMAT}') AS collected_at
             FROM acc a JOIN teff t USING (barcode)
             JOIN pstat ps ON ps.id_type = a.id_type AND ps.id_number = a.id_number
             LEFT JOIN person p ON p.id_type = a.id_type AND p.id_number = a.id_number
             WHERE t.rank = 3 OR (t.rank = 1 AND NOT ps.has_neg)
             ORDER BY a.barcode, a.id_number, a.id_type) TO '{out / "recheck.csv"}' {copy}""")
    q(f"""COPY (SELECT barcode AS tube_barcode, site_code, nullif(box_code, '') AS box_code,
                   strftime(first_ts, '{TIME_FORMAT}') AS collected_at, members
             FROM teff WHERE n_results = 0 ORDER BY barcode) TO '{out / "pending_tubes.csv"}' {copy}""")
    totals = one(
        "SELECT sum(expected), sum(exempt), sum(sampled), sum(negative), sum(pending), sum(invalid), "
        "sum(abnormal), sum(untested) FROM cov"
    )
    unreg, out_of_scope = one("""
        SELECT count(*) FILTER (WHERE p.id_number IS NULL),
               count(*) FILTER (WHERE p.id_number IS NOT NULL AND e.id_number IS NULL)
        FROM pstat ps
        LEFT JOIN person p ON p.id_type = ps.id_type AND p.id_number = ps.id_number
        LEFT JOIN exp e ON e.id_type = ps.id_type AND e.id_number = ps.id_number
    """)
    tubes, tubes_abnormal = one("SELECT count(*), count(*) FILTER (WHERE rank = 3) FROM teff")
    (held,) = one("SELECT count(*) FROM res WHERE barcode NOT IN (SELECT barcode FROM tube)")
    con.close()
    keys = ["expected", "exempt", "sampled", "negative", "pending", "invalid", "abnormal", "untested"]
    summary = {"round": ROUND_CODE, **{k: int(v or 0) for k, v in zip(keys, totals, strict=True)}}
    summary.update(
        sampled_unregistered=int(unreg),
        sampled_out_of_scope=int(out_of_scope),
        tubes=int(tubes),
        tubes_abnormal=int(tubes_abnormal),
        results_held=int(held),
    )
    summary = {k: summary[k] for k in SUMMARY_KEYS}
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return summary


def compare_reports(product: Path, baseline: Path) -> list[str]:
    """Byte-for-byte comparison of the four CSV files; a line per difference found."""
    problems = []
    for name in ("coverage.csv", "untested.csv", "recheck.csv", "pending_tubes.csv"):
        a = (product / name).read_bytes().splitlines()
        b = (baseline / name).read_bytes().splitlines()
        if a == b:
            continue
        diff = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        shown = [lines[diff].decode() if diff < len(lines) else "<end of file>" for lines in (a, b)]
        problems.append(
            f"{name}: {len(a)} vs {len(b)} lines; first difference at line {diff + 1}:\n"
            f"    product : {shown[0]}\n    baseline: {shown[1]}"
        )
    return problems


# ---------------------------------------------------------------------------------------------
# The timed imports, with a fallback when the whole file cannot be imported


def timed_import(kind: str, path: Path, timer: Timer, notes: dict, chunk_rows: int):
    """``import_file`` of the whole file, timed as ``import_<kind>``.

    If the product cannot import the file in one go (a database error), the failure and its time
    are recorded in ``notes`` and the same rows are imported again as consecutive files of
    ``chunk_rows`` rows (as a lab or a sampling app posting batches), timed as the phase instead.
    """
    import time

    import pyarrow.csv as pacsv
    from django.db import DatabaseError

    from lianfang.core.reader import read_table
    from lianfang.core.summary import ImportSummary
    from lianfang.imports.services import import_file

    phase = f"import_{kind}"
    started = time.perf_counter()
    try:
        with timer.phase(phase):
            summary = import_file(kind=kind, path=path, actor=None)
        notes[phase] = "one file"
        return summary
    except DatabaseError as exc:
        took = time.perf_counter() - started
        message = str(exc).splitlines()[0][:200]
        print(
            f"  FAILED   {phase} as one file after {took:.1f} s: {type(exc).__name__}: {message}",
            file=sys.stderr,
        )
        notes[f"{phase}_failed"] = {"seconds": round(took, 3), "error": f"{type(exc).__name__}: {message}"}
    table = read_table(path)
    folder = path.parent / f"{kind}-chunks"
    folder.mkdir(exist_ok=True)
    paths = []
    for i, start in enumerate(range(0, table.num_rows, chunk_rows)):
        paths.append(folder / f"{kind}-{i:05d}.csv")
        pacsv.write_csv(table.slice(start, chunk_rows), paths[-1])
    del table
    total = ImportSummary()
    with timer.phase(phase):
        for chunk in paths:
            part = import_file(kind=kind, path=chunk, actor=None)
            total.read += part.read
            total.accepted += part.accepted
            total.duplicate += part.duplicate
            total.held += part.held
            total.rejected += part.rejected
            total.reasons.update(part.reasons)
    notes[phase] = f"{len(paths)} files of {chunk_rows} rows"
    return total


def setup_child(folder: Path, persons: int, seed: int) -> None:
    """Set-up in a child process: generate the city, write its files, load the registry. Prints one
    JSON line: the file counts, the phases' times and the child's peak RSS."""
    import django

    django.setup()
    from lianfang.imports.services import import_file
    from lianfang.simulate.generator import generate_population

    timer = Timer()
    with timer.phase("generate"):
        pop = generate_population(persons, seed=seed)
    with timer.phase("write_files"):
        made = write_files(pop, folder, seed)
    del pop
    print("  files    " + ", ".join(f"{k} {v:,}" for k, v in made.items()), file=sys.stderr)
    with timer.phase("load_persons"):
        loaded = import_file(kind="persons", path=folder / "persons.csv", actor=None)
    assert loaded.accepted == persons, loaded
    print(json.dumps({"made": made, "phases": timer.phases, "peak_rss_mb": peak_rss_mb()}))


def empty_screening() -> None:
    """Back to the state right after the set-up's registry load (``--reuse``): no round, no
    screening rows, no unregistered people; the audit log keeps its events."""
    from django.db import connection, transaction

    from lianfang.people.models import Person
    from lianfang.screening import models as m

    order = (
        m.PositiveFinding, m.PoolAlert, m.RecheckTask, m.Sample, m.Result, m.Box, m.Tube,
        m.Device, m.RoundScope, m.Round, m.Site, m.Lab,
    )  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE, not DELETE: autovacuum may be off, and a million dead samples left in the
            # heap and in the unique (tube, person) index slow the next import's inserts (the
            # indexed baseline's empty copies have none). The tables go together (they
            # reference each other); CASCADE reaches only tables that reference them.
            cursor.execute(f"TRUNCATE {', '.join(model._meta.db_table for model in order)} CASCADE")
        else:
            for model in order:
                cursor.execute(f"DELETE FROM {model._meta.db_table}")
        cursor.execute(f"DELETE FROM {Person._meta.db_table} WHERE NOT registered")
        for name in ("bench_raw_samples", "bench_raw_results"):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        for model in (*order, Person):  # copies an interrupted indexed baseline left
            cursor.execute(f"DROP TABLE IF EXISTS {PREFIX}{model._meta.db_table}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=3_000,
        help="rows per file when a whole-file import fails and is retried in batches",
    )
    parser.add_argument("--profile", help="write cProfile stats of the three timed phases to this file")
    parser.add_argument(
        "--reuse",
        metavar="DIR",
        help="the files folder of an earlier run at the same scale, seed and database: its registry "
        "is kept (SQLite: the database folder its setup.json names) and the set-up skipped; the "
        "screening tables and unregistered people are emptied first",
    )
    parser.add_argument("--setup-only", metavar="DIR", help=argparse.SUPPRESS)  # the set-up child
    parser.add_argument("--empty-only", action="store_true", help=argparse.SUPPRESS)  # --reuse's child
    args = parser.parse_args()

    # Measure what production runs: Django's debug cursor (on by default outside production) logs
    # and formats every statement. LIANFANG_DEBUG=1 in the environment turns it back on.
    os.environ.setdefault("LIANFANG_DEBUG", "0")
    if args.setup_only:
        setup_child(Path(args.setup_only), args.persons, args.seed)
        return
    if args.empty_only:  # the parent has pointed the environment at the database
        import django

        django.setup()
        empty_screening()
        return
    reused = json.loads((Path(args.reuse) / "setup.json").read_text()) if args.reuse else None
    if reused and (reused["persons"], reused["seed"], reused["db"]) != (args.persons, args.seed, args.db):
        raise SystemExit(f"--reuse: {args.reuse} was set up for {reused}, not for this run")
    db = prepare_database(args.db, "bench_screening", reuse_dir=reused and (reused["data_dir"] or "kept"))
    from lianfang.core.times import SHANGHAI
    from lianfang.imports.services import import_file
    from lianfang.screening.report import round_report_write
    from lianfang.screening.services import round_open

    timer = Timer()
    folder = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="bench-screening-"))
    print(f"screening: {args.persons:,} people on {db}, files in {folder}", file=sys.stderr)
    if reused:
        setup = reused["setup"]
        # Deleting millions of rows leaves the process holding gigabytes: done in a child, so the
        # phases' peak is their own. The database keeps the freed pages (no VACUUM), which the
        # imports then reuse: times can differ a little from a run on a fresh registry.
        subprocess.run([sys.executable, __file__, "--empty-only"], check=True)
        print(
            "  reused   the registry and files of an earlier run (set-up times are that run's)",
            file=sys.stderr,
        )
    else:
        # Generating the city and loading its registry leave gigabytes of freed-but-kept memory
        # in a process at 10 M people: they run in a child process (same database, same
        # environment), so the peak measured here is the screening phases' own.
        child = subprocess.run(
            [
                *(sys.executable, __file__, "--setup-only", str(folder)),
                *("--persons", str(args.persons), "--seed", str(args.seed)),
            ],
            stdout=subprocess.PIPE,
            check=True,
            text=True,
        )
        setup = json.loads(child.stdout.strip().splitlines()[-1])
        (folder / "setup.json").write_text(
            json.dumps(
                {
                    "persons": args.persons,
                    "seed": args.seed,
                    "db": args.db,
                    "data_dir": os.environ.get("LIANFANG_DATA_DIR"),
                    "setup": setup,
                }
            )
        )
    made = setup["made"]
    for name, seconds in setup["phases"].items():
        timer.phases[name] = seconds
    setup_peak = setup["peak_rss_mb"]
    start = dt.datetime.combine(DAY, dt.time(6), tzinfo=SHANGHAI)
    with timer.phase("open_round"):
        rnd = round_open(
            actor=None, code=ROUND_CODE, name="泉州市全员核酸检测 2022-03-28", scope=[SCOPE], starts_at=start
        )
    with timer.phase("import_sites_labs"):
        sites = import_file(kind="sites", path=folder / "sites.csv", actor=None)
        labs = import_file(kind="labs", path=folder / "labs.csv", actor=None)
    assert sites.accepted == made["sites"] and labs.accepted == LABS, (sites, labs)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    notes: dict = {}
    phase_peak: dict[str, float] = {}
    marks = [id_marks()]  # the tables' keys before, between and after the imports
    phase_start: dict[str, float] = {"import_samples": rss_mb()}
    hwm_reset()
    samples = timed_import("samples", folder / "samples.csv", timer, notes, args.chunk_rows)
    phase_peak["import_samples"] = hwm_mb()
    print(f"  samples  {samples.as_dict()}", file=sys.stderr)
    marks.append(id_marks())
    phase_start["import_results"] = rss_mb()
    hwm_reset()
    results = timed_import("results", folder / "results.csv", timer, notes, args.chunk_rows)
    phase_peak["import_results"] = hwm_mb()
    print(f"  results  {results.as_dict()}", file=sys.stderr)
    marks.append(id_marks())
    phase_start["round_report"] = rss_mb()
    hwm_reset()
    with timer.phase("round_report"):
        product = round_report_write(rnd=rnd, out_dir=folder / "report")
    phase_peak["round_report"] = hwm_mb()
    screening_peak = max(phase_peak.values())
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    assert samples.read == made["sample_rows"] and results.read == made["result_rows"]

    with timer.phase("raw_load", baseline=True):
        loaded = raw_load(folder)
    assert loaded == made["sample_rows"] + made["result_rows"], loaded
    indexed = indexed_load(written(marks), ["import_samples", "import_results"])
    timer.baseline["indexed_load"] = indexed["seconds"]
    timer.baseline["indexed_load_samples"] = indexed["by_phase"]["import_samples"]
    timer.baseline["indexed_load_results"] = indexed["by_phase"]["import_results"]
    print(f"  {'baseline':8} {'indexed_load':<28} {indexed['seconds']:8.2f} s", file=sys.stderr)
    with timer.phase("duckdb_report", baseline=True):
        base = duckdb_report(folder, folder / "baseline", start=start)

    mine = json.loads((folder / "report" / "summary.json").read_text(encoding="utf-8"))
    assert mine == product.summary
    if mine != base:
        lines = [
            f"    {k}: product {mine.get(k)!r} != baseline {base.get(k)!r}"
            for k in mine
            if mine.get(k) != base.get(k)
        ]
        print("  MISMATCH summary.json (product vs DuckDB baseline):\n" + "\n".join(lines), file=sys.stderr)
        raise SystemExit(1)
    print(f"  summary  {json.dumps(mine, ensure_ascii=False)}  (= baseline)", file=sys.stderr)
    problems = compare_reports(folder / "report", folder / "baseline")
    for p in problems:
        print(f"  MISMATCH {p}", file=sys.stderr)
    if not problems:
        print(
            "  files    coverage, untested, recheck, pending_tubes identical to the baseline's",
            file=sys.stderr,
        )

    ph, bl = timer.phases, timer.baseline
    ingest = ph["import_samples"] + ph["import_results"]
    ratio = {
        "ingest_vs_indexed": round(ingest / bl["indexed_load"], 2),
        "import_samples_vs_indexed": round(ph["import_samples"] / bl["indexed_load_samples"], 2),
        "import_results_vs_indexed": round(ph["import_results"] / bl["indexed_load_results"], 2),
        "ingest": round(ingest / bl["raw_load"], 2),
        "report": round(ph["round_report"] / bl["duckdb_report"], 2),
    }
    goals = {"ingest_vs_indexed": 2.0, "report": 1.5}
    for k, v in ratio.items():
        verdict = f"(goal ≤ {goals[k]:g}×) {'ok' if v <= goals[k] else 'OVER'}" if k in goals else ""
        print(f"  ratio    {k:<28} {v:8.2f} ×  {verdict}", file=sys.stderr)
    out = {
        **result("screening", args.persons, db, timer, ratio, peak=whole_run_peak_mb()),
        "peak_rss_setup_child_mb": setup_peak,
        "peak_rss_screening_mb": screening_peak,
        "peak_rss_phase_mb": phase_peak,
        "rss_at_phase_start_mb": phase_start,
        "goals": goals,
        "indexed_load_tables": indexed["tables"],
        "indexed_load_commit_s": indexed["commit"],
        "files": made,
        "files_identical": not problems,
        "imports": notes,
    }
    print(
        f"  peak RSS {out['peak_rss_mb']:.0f} MB whole run, {screening_peak:.0f} MB during the timed phases "
        f"(goal ≤ 4096 MB; {', '.join(f'{k} {v:.0f}' for k, v in phase_peak.items())})",
        file=sys.stderr,
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
