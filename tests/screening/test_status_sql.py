"""The status rules and the exempt test are written once (:mod:`lianfang.analytics.status`) and run
in three engines: the database under test (SQLite or PostgreSQL: ``tubes_refresh``, the pages'
counts) and DuckDB (the round report). On random result sets, birth dates and custody flags the
three engines and the Python twins give the same answers."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lianfang.analytics import status

RESULTS = st.lists(st.sampled_from(status.RESULTS), max_size=4)
CUTOFF = dt.date(2020, 3, 28)
NEAR = st.one_of(st.none(), st.dates(CUTOFF - dt.timedelta(days=3), CUTOFF + dt.timedelta(days=3)))

pytestmark = pytest.mark.django_db
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _both(ddl: str, table: str, rows: list[tuple], sql: str, params: list) -> tuple[list, list]:
    """``sql`` over ``table`` (built by ``ddl`` from ``rows``) in the database under test and in DuckDB."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {table} ({ddl})")
        try:
            if rows:
                marks = ", ".join(["%s"] * len(rows[0]))
                adapted = [
                    tuple(
                        connection.ops.adapt_datefield_value(v) if isinstance(v, dt.date) else v for v in row
                    )
                    for row in rows
                ]
                cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", adapted)
            cursor.execute(sql, [connection.ops.adapt_datefield_value(p) for p in params])
            db = sorted(cursor.fetchall())
        finally:
            cursor.execute(f"DROP TABLE {table}")
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TEMPORARY TABLE {table} ({ddl})")
        if rows:
            con.executemany(f"INSERT INTO {table} VALUES ({', '.join(['?'] * len(rows[0]))})", rows)
        duck = sorted(con.execute(sql.replace("%s", "?"), params).fetchall())
    finally:
        con.close()
    return db, duck


@FAST
@given(tubes=st.lists(RESULTS, min_size=1, max_size=6))
def test_tube_effective_result_is_the_same_in_every_engine(tubes):
    """A tube's state, rank and reason, from the flags aggregated over its results (as
    ``tubes_refresh``) and from flags that are NULL for a tube without results (as the report's
    outer join); a stored state ranks as the report ranks it."""
    rows = [(g, r) for g, results in enumerate(tubes) for r in results]
    inline = status.result_flags("result")
    joined = {v: f"r.any_{v}" for v in status.RESULTS}
    sql = (
        "WITH r AS (SELECT g, "
        + ", ".join(f"{expr} AS any_{v}" for v, expr in inline.items())
        + " FROM res GROUP BY g), t AS ("
        + " UNION ".join(f"SELECT {g} AS g" for g in range(len(tubes)))
        + f") SELECT t.g, {status.tube_state(joined)}, {status.tube_rank(joined)}, "
        f"{status.state_rank(status.tube_state(joined))}, {status.tube_reason(joined)} "
        "FROM t LEFT JOIN r ON r.g = t.g"
    )
    db, duck = _both("g integer, result varchar(12)", "res", rows, sql, [])
    expected = []
    for g, results in enumerate(tubes):
        state = status.tube_state_of(results)
        reason = next((v for v in (status.POSITIVE, status.INCONCLUSIVE) if v in results), "")
        if state == status.INVALID:
            reason = status.INVALID
        expected.append((g, state, status.RANK[state], status.RANK[state], reason))
    assert [tuple(r) for r in db] == expected
    assert [tuple(r) for r in duck] == expected

    # The stored form (``tubes_refresh``): the aggregate inline, tubes with results only.
    sql = f"SELECT g, {status.tube_state(inline)}, {status.tube_reason(inline)} FROM res GROUP BY g"
    db, duck = _both("g integer, result varchar(12)", "res", rows, sql, [])
    with_results = [(g, s, r) for g, s, _, _, r in expected if tubes[g]]
    assert [tuple(r) for r in db] == with_results
    assert [tuple(r) for r in duck] == with_results


@FAST
@given(
    people=st.lists(
        st.tuples(st.one_of(st.none(), st.sampled_from(sorted(status.RANK.values()))), NEAR, st.booleans()),
        min_size=1,
        max_size=8,
    ),
    custody_column=st.booleans(),
)
def test_exempt_and_person_counts_are_the_same_in_every_engine(people, custody_column):
    """The exempt test (an unknown birth date is not exempt; custody when the column is given) and
    the counts of a person's status, over a date column as the registry stores it."""
    rows = [(g, rank, bd, custody) for g, (rank, bd, custody) in enumerate(people)]
    exempt = status.exempt("bd", "%s", in_custody="custody" if custody_column else None)
    predicates = status.person_counts("rnk", exempt)
    sql = (
        "SELECT g, "
        + ", ".join(f"CASE WHEN {predicates[k]} THEN 1 ELSE 0 END" for k in status.PERSON_COUNTS)
        + " FROM p"
    )
    params = [CUTOFF] * sql.count("%s")
    db, duck = _both("g integer, rnk integer, bd date, custody boolean", "p", rows, sql, params)
    expected = []
    for g, rank, bd, custody in rows:
        is_exempt = (custody_column and custody) or (bd is not None and bd > CUTOFF)
        person = status.person_status_of(
            [] if rank is None else [status.STATE_OF_RANK[rank]], exempt=is_exempt
        )
        flags = {
            "exempt": is_exempt,
            "sampled": rank is not None,
            **{s: person == s for s in (status.NEGATIVE, status.PENDING, status.INVALID, status.ABNORMAL)},
            status.UNTESTED: person == status.UNTESTED,
        }
        expected.append((g, *(int(flags[k]) for k in status.PERSON_COUNTS)))
    assert [tuple(r) for r in db] == expected
    assert [tuple(r) for r in duck] == expected


def test_the_cutoff_is_the_last_birth_date_already_of_age():
    assert status.exempt_birth_cutoff(dt.date(2022, 3, 28), 2) == CUTOFF
    assert status.exempt_birth_cutoff(dt.date(2024, 2, 29), 2) == dt.date(2022, 2, 28)
