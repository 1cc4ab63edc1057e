"""Spatio-temporal companions (时空伴随) of cases in telecom pings, as a function over Arrow.

FORMATS.md, "pings" and ``lianfang trace companions``; DOMAIN.md §4. No Django: the caller hands
over the pings (a Parquet, CSV or XLSX file, or an Arrow table) and the cases (an Arrow table or a
list of dicts with ``case_code, id_number, phone, reported_at``) and the protocol's parameters
(:meth:`Params.of`), and gets the rows of ``companions.csv`` back (:func:`companions`), or has the
file written (:func:`companions_write`).

The rules
=========
* A case's keys are its ID number and its phone (either may be blank). Its window is
  ``[reported_at − look-back, reported_at]``.
* Every stay of the case (under either key) that reaches into the window is clipped to it and
  paired with every stay, in the same cell, of a person who is not a case (a person whose key is
  any case's key is never a companion, of this case or another: treatment takes over). The
  overlap ``[max(starts), min(ends)]`` counts when it lasts at least the co-dwell (10 minutes:
  exactly 10:00 counts, 9:59.999 does not); touching stays (one ends when the other starts) have
  no overlap and never count. Each counted pair of stays is one row.
* With the cumulative option (``companion_cumulative_hours``, off by default) a pair also needs
  either party's total dwell in that cell within the case's window (its stays clipped to the
  window, summed) to reach that many hours.
* ``overlap_minutes`` is the overlap in minutes rounded half up to one decimal, computed on whole
  microseconds (no float); report times are ``YYYY-MM-DD HH:MM:SS`` in Asia/Shanghai (fixed
  +08:00, no DST since 1991), truncated to the second.
* Rows are sorted by ``person_key, case_code, overlap_start, cell_id`` (binary order of the text),
  then ``overlap_end`` so that equal keys still come out in one order on every engine.

Input (one normalisation for every engine, in DuckDB)
=====================================================
Pings need the columns ``person_key, cell_id, start, end`` (names trimmed and lower-cased;
others ignored). Keys and cells are text or integers. Times are instants: a Parquet timestamp
with a time zone as it is, one without as Asia/Shanghai wall time, text by FORMATS.md's General
rules (ISO 8601 or ``YYYY-MM-DD HH:MM[:SS]``, no offset = Asia/Shanghai, a date alone refused).
A file with a bad row is refused as a whole (:class:`~lianfang.core.reader.ImportFileError`,
Chinese and English, naming the first bad row, its column and how many rows are bad): a blank
key or cell (``missing_field``), a time that is not one (``bad_time``), an end before its start
(``bad_interval``). Nothing is dropped silently. Parquet is scanned by DuckDB in place (a
96 M-row file is never copied into Python); CSV and XLSX go through ``core.reader``.

ID numbers are matched as given, and also with the check character ``X`` in the other case (a
case stored ``…X`` finds pings keyed ``…x``). Phones are matched as given.

Engines
=======
``engine="duckdb"`` (default) runs :data:`_PAIRS_SQL` in an in-process DuckDB. ``engine="spark"``
runs the same SQL text in Spark SQL (pyspark, a local session unless one is given) over the
normalised pings written once as Parquet: the normalisation, the final rounding, formatting and
sorting are shared code, so both engines give the same bytes on the same input. In a cluster the
pings would already sit in Parquet on shared storage, and only :data:`_PAIRS_SQL` runs there.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from lianfang.core.reader import ImportFileError, detect_format, inert, read_table
from lianfang.core.times import SHANGHAI, parse_time

COLUMNS = ["person_key", "case_code", "cell_id", "overlap_start", "overlap_end", "overlap_minutes"]
PING_COLUMNS = ("person_key", "cell_id", "start", "end")
ENGINES = ("duckdb", "spark")

_US = 1_000_000
_MINUTE_US = 60 * _US
_SHANGHAI_US = 8 * 3600 * _US  # Asia/Shanghai is UTC+08:00 all year since 1991


@dataclass(frozen=True)
class Params:
    """The protocol's companion parameters (DOMAIN.md §4): look-back, co-dwell, cumulative dwell."""

    lookback_days: int
    codwell_minutes: int
    cumulative_hours: float | None = None

    @classmethod
    def of(cls, tracing: Any) -> Params:
        """From an edition's ``tracing`` section. The cumulative rule applies when the edition sets
        ``companion_cumulative_hours`` (every shipped edition leaves it ``None``: off)."""
        return cls(
            tracing.companion_lookback_days,
            tracing.companion_codwell_minutes,
            tracing.companion_cumulative_hours,
        )

    def __post_init__(self) -> None:
        if self.lookback_days < 0 or self.codwell_minutes < 0:
            raise ValueError("look-back and co-dwell cannot be negative")
        if self.cumulative_hours is not None and self.cumulative_hours <= 0:
            raise ValueError("the cumulative dwell must be positive")


class UnknownCases(ValueError):
    """``case_codes`` named cases that are not among the cases given."""

    def __init__(self, codes: list[str]):
        self.codes = codes
        shown = ", ".join(codes)
        super().__init__(f"未知的病例编号 / unknown case codes: {shown}")


class EngineUnavailable(RuntimeError):
    """``engine="spark"`` without pyspark installed."""

    def __init__(self) -> None:
        super().__init__(
            "未安装 Spark 引擎：请安装 pyspark（pip install 'lianfang[spark]'）和 Java 17 / "
            "the Spark engine is not installed: install pyspark (pip install 'lianfang[spark]') and Java 17"
        )


# --- the pings, normalised -----------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
    return fetch()


def _time_expr(column: str, type_name: str) -> str | None:
    """SQL giving microseconds since the epoch (UTC) of a time column of DuckDB type ``type_name``."""
    t = type_name.upper()
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return f"epoch_us({column})"
    if t.startswith("TIMESTAMP"):  # wall time without a zone: Asia/Shanghai, as a time without offset
        return f"(epoch_us({column}) - {_SHANGHAI_US})"
    if t == "VARCHAR":  # the connection's TimeZone is Asia/Shanghai: a time without offset is local
        c = column
        iso = f"CASE WHEN substr({c}, 11, 1) = 't' THEN substr({c}, 1, 10) || 'T' || substr({c}, 12) ELSE {c} END"
        return (
            f"(CASE WHEN length({c}) >= 16 AND substr({c}, 11, 1) IN (' ', 'T', 't') "
            f"AND substr({c}, 5, 1) = '-' AND substr({c}, 8, 1) = '-' AND substr({c}, 12, 2) <> '24' "
            f"THEN epoch_us(try_cast({iso} AS TIMESTAMPTZ)) END)"
        )
    return None


_INTEGERS = {
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
}


def _key_expr(column: str, type_name: str) -> str | None:
    t = type_name.upper()
    if t == "VARCHAR":
        return column
    if t in _INTEGERS:
        return f"CAST({column} AS VARCHAR)"
    return None


@dataclass
class _Pings:
    source: str  # the FROM clause
    normalised: str  # SELECT person_key, cell_id, s, e (+ raw texts and the row number r)
    numbered: bool  # r is set (else NULL: a typed Arrow table given, numbered only to name a bad row)
    lines: bool  # r + 1 is the line of a CSV / the row of a sheet (header first); else r is a data row


def _open_pings(con: duckdb.DuckDBPyConnection, pings) -> _Pings:
    """Make ``pings`` a relation of ``con`` with its columns normalised (module docstring)."""
    numbered = lines = False
    table = None
    con.execute("SET TimeZone = 'Asia/Shanghai'")  # text times without an offset (FORMATS.md General)
    if isinstance(pings, pa.Table):
        table = pings
        con.register("pings_source", table)
        source = "pings_source"
    else:
        path = Path(os.fspath(pings))
        if not path.is_file():
            raise ImportFileError(
                "not_found", f"找不到信令文件：{path.name}", f"The pings file does not exist: {path.name}"
            )
        fmt = detect_format(path)
        if fmt == "parquet":  # scanned in place by DuckDB, never copied into Python
            literal = "'" + str(path).replace("'", "''") + "'"
            source = f"read_parquet({literal}, file_row_number = true)"
            numbered = True
            try:
                con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
            except duckdb.Error as e:
                raise ImportFileError(
                    "unreadable",
                    f"无法读取信令文件，Parquet 文件可能已损坏（{type(e).__name__}）。",
                    f"The pings file cannot be read; the Parquet file may be damaged ({type(e).__name__}).",
                ) from e
        else:  # CSV / XLSX: all-string, trimmed, header normalised by core.reader
            table = read_table(path, fmt=fmt)
            con.register("pings_source", table)
            source, lines = "pings_source", True
    types = {row[0]: row[1] for row in con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    found: dict[str, str] = {}
    for name in types:
        if not (numbered and name == "file_row_number"):
            found.setdefault(name.strip().lower(), name)
    missing = [c for c in PING_COLUMNS if c not in found]
    if missing:
        shown = ", ".join(missing)
        raise ImportFileError(
            "missing_column",
            f"信令文件缺少列：{shown}（需要 person_key, cell_id, start, end 四列）。",
            f"The pings file lacks the column(s): {shown} (it needs person_key, cell_id, start and end).",
        )
    exprs, wrong = {}, []
    for column in PING_COLUMNS:
        actual = found[column]
        maker = _time_expr if column in ("start", "end") else _key_expr
        exprs[column] = maker(_quote(actual), types[actual])
        if exprs[column] is None:
            wrong.append(f"{actual} ({types[actual]})")
    if wrong:
        shown = ", ".join(wrong)
        raise ImportFileError(
            "wrong_type",
            f"信令文件的列类型不对：{shown}。person_key 和 cell_id 应为文本或整数，start 和 end 应为时间或文本。",
            f"Columns of the pings file have the wrong type: {shown}. person_key and cell_id take text "
            "or whole numbers, start and end take times or text.",
        )
    text_times = "VARCHAR" in (types[found["start"]].upper(), types[found["end"]].upper())
    if table is not None and text_times:  # number the rows: the times are parsed once, below
        con.register("pings_source", table.append_column("__row", pa.array(range(1, table.num_rows + 1))))
        numbered = True
    row = ("file_row_number + 1" if table is None else "__row") if numbered else "NULL"
    normalised = (
        f"SELECT {exprs['person_key']} AS person_key, {exprs['cell_id']} AS cell_id, "
        f"{exprs['start']} AS s, {exprs['end']} AS e, "
        f"CAST({_quote(found['start'])} AS VARCHAR) AS raw_start, "
        f"CAST({_quote(found['end'])} AS VARCHAR) AS raw_end, {row} AS r FROM {source}"
    )
    if text_times:  # parsing text is dear: once, into a typed table both scans read
        con.sql(f"CREATE TEMP TABLE pings_typed AS {normalised}")
        normalised = "SELECT * FROM pings_typed"
    return _Pings(source, normalised, numbered, lines)


_BAD = (
    "CASE WHEN person_key IS NULL OR person_key = '' THEN 'missing_field:person_key' "
    "WHEN cell_id IS NULL OR cell_id = '' THEN 'missing_field:cell_id' "
    "WHEN s IS NULL THEN 'bad_time:start' WHEN e IS NULL THEN 'bad_time:end' "
    "WHEN e < s THEN 'bad_interval' END"
)


_IS_BAD = (
    "person_key IS NULL OR person_key = '' OR cell_id IS NULL OR cell_id = '' "
    "OR s IS NULL OR e IS NULL OR e < s"
)


def _first_pass(con: duckdb.DuckDBPyConnection, pings: _Pings, check: bool) -> None:
    """One scan of the pings that keeps, in the table ``case_pings``, the stays of every case's keys
    and (``check``) the bad rows; refuses the file when there are any (:func:`_refuse`). The pairs
    then need only one more scan, as a hand-written query would."""
    bad = f" OR {_IS_BAD}" if check else ""
    con.sql(
        "CREATE TEMP TABLE case_pings AS SELECT person_key, cell_id, s, e, "
        f"({_IS_BAD}) AS bad FROM ({pings.normalised}) "
        f"WHERE person_key IN (SELECT key FROM case_keys){bad}"
    )
    if check:
        count = con.sql("SELECT count(*) FROM case_pings WHERE bad").fetchall()[0][0]
        if count:
            _refuse(con, pings, count)


def _refuse(con: duckdb.DuckDBPyConnection, pings: _Pings, count: int) -> None:
    """Refuse the file, naming its first bad row, the column and the count."""
    normalised = pings.normalised
    if not pings.numbered:  # a typed Arrow table given: number its rows in order
        table = _arrow(con, f"SELECT * FROM {pings.source}")
        con.register("pings_numbered", table.append_column("__row", pa.array(range(1, table.num_rows + 1))))
        normalised = normalised.replace("NULL AS r FROM pings_source", "__row AS r FROM pings_numbered")
    reason, r, raw_start, raw_end = con.sql(
        f"SELECT {_BAD} AS reason, r, raw_start, raw_end FROM ({normalised}) "
        "WHERE reason IS NOT NULL ORDER BY r LIMIT 1"
    ).fetchall()[0]
    zh, en = {
        "missing_field:person_key": ("person_key 为空", "person_key is blank"),
        "missing_field:cell_id": ("cell_id 为空", "cell_id is blank"),
        "bad_time:start": (
            f"start “{raw_start}”不是有效时间（需要日期和时间，如 2022-03-20 08:30）",
            f'start "{raw_start}" is not a time (a date and a time are needed, e.g. 2022-03-20 08:30)',
        ),
        "bad_time:end": (
            f"end “{raw_end}”不是有效时间（需要日期和时间，如 2022-03-20 08:30）",
            f'end "{raw_end}" is not a time (a date and a time are needed, e.g. 2022-03-20 08:30)',
        ),
        "bad_interval": (
            f"end（{raw_end}）早于 start（{raw_start}）",
            f"end ({raw_end}) is before start ({raw_start})",
        ),
    }[reason]
    # A CSV's table row r is its line r + 1 (the header is line 1); Parquet and Arrow: data rows.
    where_zh = f"第 {r + 1} 行" if pings.lines else f"第 {r} 条数据"
    where_en = f"line {r + 1}" if pings.lines else f"data row {r}"
    raise ImportFileError(
        reason.split(":")[0],
        f"信令文件有 {count:,} 行数据有误，未做计算。{where_zh}：{zh}。请修正后重新提交。",
        f"The pings file has {count:,} bad row(s); nothing was computed. At {where_en}: {en}. "
        "Correct the file and run again.",
    )


# --- the cases -----------------------------------------------------------------------------------


def _instant_us(value: Any, case_code: str) -> int:
    if isinstance(value, str):
        value = parse_time(value) if value else None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"病例 {case_code} 没有有效的报告时间 / case {case_code} has no valid reported_at")
    if value.tzinfo is None:  # a naive time is Asia/Shanghai, as in the files
        value = value.replace(tzinfo=SHANGHAI)
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


def _id_variants(key: str) -> set[str]:
    """An ID number's check character ``X`` matches ``x`` too (the registry stores it upper case)."""
    if key[-1:] in ("X", "x"):
        return {key[:-1] + "X", key[:-1] + "x"}
    return {key}


def _case_keys(cases, case_codes: Iterable[str] | None, params: Params) -> pa.Table:
    """One row per (case, key): ``case_code, key, w0, w1`` (the window, µs) and ``selected``."""
    rows: list[Mapping[str, Any]] = cases.to_pylist() if isinstance(cases, pa.Table) else list(cases)
    wanted = None if case_codes is None else {c.strip() for c in case_codes if c.strip()}
    known: set[str] = set()
    out: dict[str, list] = {"case_code": [], "key": [], "w0": [], "w1": [], "selected": []}
    lookback_us = params.lookback_days * 86_400 * _US
    for row in rows:
        code = str(row.get("case_code") or "").strip()
        if not code:
            raise ValueError("病例缺少编号 / a case has no case_code")
        known.add(code)
        w1 = _instant_us(row.get("reported_at"), code)
        keys: set[str] = set()
        id_number = str(row.get("id_number") or "").strip()
        phone = str(row.get("phone") or "").strip()
        if id_number:
            keys |= _id_variants(id_number)
        if phone:
            keys.add(phone)
        for key in sorted(keys):
            out["case_code"].append(code)
            out["key"].append(key)
            out["w0"].append(w1 - lookback_us)
            out["w1"].append(w1)
            out["selected"].append(wanted is None or code in wanted)
    if wanted is not None and wanted - known:
        raise UnknownCases(sorted(wanted - known))
    schema = pa.schema(
        [
            ("case_code", pa.string()),
            ("key", pa.string()),
            ("w0", pa.int64()),
            ("w1", pa.int64()),
            ("selected", pa.bool_()),
        ]
    )
    return pa.table(out, schema=schema)


# --- the pairs (one SQL text for DuckDB and Spark SQL) ---------------------------------------------

# ``pings(person_key, cell_id, s, e)``, ``case_pings`` (at least the cases' own stays: DuckDB keeps
# them from its first pass, Spark reads all pings) and ``case_keys(case_code, key, w0, w1,
# selected)``; times in
# µs since the epoch, so that neither engine's time zone or timestamp type plays any part.
_PAIRS_SQL = """
WITH sel AS (
    SELECT DISTINCT case_code, key, w0, w1 FROM case_keys WHERE selected
), all_keys AS (
    SELECT DISTINCT key FROM case_keys
), cs AS (
    SELECT k.case_code, p.cell_id, greatest(p.s, k.w0) AS s, least(p.e, k.w1) AS e, k.w0, k.w1
    FROM case_pings p JOIN sel k ON p.person_key = k.key
    WHERE p.s < k.w1 AND p.e > k.w0
), pairs AS (
    SELECT /*+ BROADCAST(c) */ o.person_key, c.case_code, c.cell_id,
           greatest(c.s, o.s) AS os, least(c.e, o.e) AS oe
    FROM cs c JOIN pings o ON o.cell_id = c.cell_id AND o.s < c.e AND o.e > c.s
), counted AS (
    SELECT x.person_key, x.case_code, x.cell_id, x.os, x.oe
    FROM pairs x LEFT JOIN all_keys a ON x.person_key = a.key
    WHERE a.key IS NULL AND x.oe - x.os >= {codwell_us} AND x.oe > x.os
){cumulative}
"""

# Either party's total dwell in the cell within the case's window reaches the threshold.
_CUMULATIVE_SQL = """, cells AS (
    SELECT DISTINCT case_code, cell_id, w0, w1 FROM cs
), case_dwell AS (
    SELECT case_code, cell_id, sum(e - s) AS dwell FROM cs GROUP BY case_code, cell_id
), other_dwell AS (
    SELECT /*+ BROADCAST(c) */ c.case_code, c.cell_id, o.person_key,
           sum(least(o.e, c.w1) - greatest(o.s, c.w0)) AS dwell
    FROM cells c JOIN pings o ON o.cell_id = c.cell_id AND o.s < c.w1 AND o.e > c.w0
    GROUP BY c.case_code, c.cell_id, o.person_key
)
SELECT x.person_key, x.case_code, x.cell_id, x.os, x.oe
FROM counted x
JOIN case_dwell cd ON cd.case_code = x.case_code AND cd.cell_id = x.cell_id
JOIN other_dwell od ON od.case_code = x.case_code AND od.cell_id = x.cell_id AND od.person_key = x.person_key
WHERE greatest(cd.dwell, od.dwell) >= {dwell_us}
"""


def pairs_sql(params: Params) -> str:
    """The SQL of the counted overlaps (``person_key, case_code, cell_id, os, oe``)."""
    codwell_us = params.codwell_minutes * _MINUTE_US
    if params.cumulative_hours is None:
        tail = "\nSELECT person_key, case_code, cell_id, os, oe FROM counted"
    else:
        tail = _CUMULATIVE_SQL.format(dwell_us=round(params.cumulative_hours * 3600 * _US))
    return _PAIRS_SQL.format(codwell_us=codwell_us, cumulative=tail)


_FINISH_SQL = f"""
SELECT person_key, case_code, cell_id,
       strftime(make_timestamp(os + {_SHANGHAI_US}), '%Y-%m-%d %H:%M:%S') AS overlap_start,
       strftime(make_timestamp(oe + {_SHANGHAI_US}), '%Y-%m-%d %H:%M:%S') AS overlap_end,
       printf('%d.%d', t // 10, t % 10) AS overlap_minutes
FROM (SELECT *, ((oe - os) * 10 + {_MINUTE_US // 2}) // {_MINUTE_US} AS t FROM pairs_found)
ORDER BY person_key, case_code, os, cell_id, oe
"""


def _finish(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> pa.Table:
    """The rows of companions.csv from the counted overlaps, whichever engine found them."""
    con.register("pairs_found", pairs)
    return _arrow(con, _FINISH_SQL)


# --- engines -------------------------------------------------------------------------------------


def _duckdb_pairs(con: duckdb.DuckDBPyConnection, pings: _Pings, keys: pa.Table, params: Params) -> pa.Table:
    con.sql(f"CREATE TEMP VIEW pings AS SELECT person_key, cell_id, s, e FROM ({pings.normalised})")
    return _arrow(con, pairs_sql(params))


_spark_session = None


def spark_session(conf: Mapping[str, str] | None = None):
    """One local Spark session per process (``local[*]``, no UI), made on first use; ``conf``: more
    settings for that first use (the tests make a small-data session)."""
    global _spark_session
    if _spark_session is None:
        try:
            from pyspark.sql import SparkSession
        except ImportError as e:
            raise EngineUnavailable() from e
        settings = {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "8",
            "spark.driver.memory": os.environ.get("LIANFANG_SPARK_DRIVER_MEMORY", "2g"),
            "spark.sql.session.timeZone": "UTC",
            **(conf or {}),
        }
        builder = SparkSession.builder.master(os.environ.get("LIANFANG_SPARK_MASTER", "local[*]"))
        for key, value in settings.items():
            builder = builder.config(key, value)
        _spark_session = builder.appName("lianfang-companions").getOrCreate()
        _spark_session.sparkContext.setLogLevel("ERROR")
    return _spark_session


def _spark_pairs(
    con: duckdb.DuckDBPyConnection, pings: _Pings, keys: pa.Table, params: Params, spark
) -> pa.Table:
    import pyarrow.parquet as pq

    session = spark or spark_session()
    with tempfile.TemporaryDirectory(prefix="companions-spark-") as folder:
        pings_path = Path(folder, "pings.parquet")
        keys_path = Path(folder, "case_keys.parquet")
        literal = "'" + str(pings_path).replace("'", "''") + "'"
        con.sql(
            f"COPY (SELECT person_key, cell_id, s, e FROM ({pings.normalised})) TO {literal} (FORMAT parquet)"
        )
        pq.write_table(keys, keys_path)
        session.read.parquet(str(pings_path)).createOrReplaceTempView("pings")
        session.read.parquet(str(pings_path)).createOrReplaceTempView("case_pings")
        session.read.parquet(str(keys_path)).createOrReplaceTempView("case_keys")
        found = session.sql(pairs_sql(params)).toArrow()
    schema = pa.schema(
        [
            ("person_key", pa.string()),
            ("case_code", pa.string()),
            ("cell_id", pa.string()),
            ("os", pa.int64()),
            ("oe", pa.int64()),
        ]
    )
    return found.select(schema.names).cast(schema)


def companions(
    pings,
    cases,
    params: Params,
    *,
    case_codes: Iterable[str] | None = None,
    engine: str = "duckdb",
    spark=None,
    check: bool = True,
) -> pa.Table:
    """The rows of ``companions.csv`` (all text, :data:`COLUMNS`, sorted) for ``cases`` in ``pings``.

    ``pings``: a path (Parquet, CSV, XLSX) or an Arrow table; ``cases``: an Arrow table or dicts
    with ``case_code, id_number, phone, reported_at``; ``case_codes``: only these cases (default
    every case; one whose keys are not in the pings has no rows); ``engine``: ``duckdb`` or
    ``spark`` (``spark``: a SparkSession to use instead of the local one). Raises
    ``ImportFileError`` for a file that cannot be used and :class:`UnknownCases` for a code not
    among ``cases``. ``check=False`` skips the scan for bad rows (a caller that checked already).
    """
    if engine not in ENGINES:
        raise ValueError(f"未知的引擎 / unknown engine: {engine} (known: {', '.join(ENGINES)})")
    keys = _case_keys(cases, case_codes, params)
    con = duckdb.connect()
    try:
        found = _open_pings(con, pings)
        con.register("case_keys", keys)
        _first_pass(con, found, check)
        if engine == "spark":
            pairs = _spark_pairs(con, found, keys, params, spark)
        else:
            pairs = _duckdb_pairs(con, found, keys, params)
        return _finish(con, pairs)
    finally:
        con.close()


def write_csv(table: pa.Table, out) -> None:
    """``companions.csv``: UTF-8 without BOM, ``\\n`` line ends, no live formulas (``inert``)."""
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        for batch in table.select(COLUMNS).to_batches(max_chunksize=65_536):
            columns = [c.to_pylist() for c in batch.columns]
            writer.writerows([inert(v) for v in row] for row in zip(*columns, strict=True))


def companions_write(pings, cases, params: Params, out, **options) -> int:
    """Compute and write ``companions.csv`` to ``out``; returns the number of rows."""
    table = companions(pings, cases, params, **options)
    write_csv(table, out)
    return table.num_rows
