"""Resident ID validation: a table of known numbers, and the bulk check against python-stdnum."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from lianfang.people.idnumbers import (
    birth_dates,
    check_digit,
    is_valid_resident_id,
    sex,
    validate_resident_ids,
)

TODAY = dt.date(2026, 11, 29)

KNOWN = [
    ("11010519491231002X", True, "published example, X check digit"),
    ("11010519491231002x", True, "lower-case x accepted"),
    ("110105194912310021", False, "wrong check digit"),
    ("350582198001011237", True, "Jinjiang, 1980"),
    ("350582198001011236", False, "one digit off"),
    ("35058219800101123", False, "17 characters"),
    ("3505821980010112377", False, "19 characters"),
    ("35058219800A011237", False, "a letter inside"),
    (
        "35058319500615001X",
        True,
        "南安 code before 1993: a real ID, accepted (stdnum's region-by-year rule not applied)",
    ),
    ("", False, "empty"),
]


def with_check(body: str) -> str:
    return body + check_digit(body)


IMPOSSIBLE_DATES = [
    with_check("35058219990230123"),  # 30 February
    with_check("35058220011301123"),  # month 13
    with_check("35058219000229123"),  # 1900 was not a leap year
    with_check("35058220991231123"),  # in the future
]


@pytest.mark.parametrize(("number", "valid", "why"), KNOWN)
def test_known_numbers(number, valid, why):
    assert is_valid_resident_id(number, today=TODAY) is valid, why
    assert bool(validate_resident_ids([number], today=TODAY)[0]) is valid, why


@pytest.mark.parametrize("number", IMPOSSIBLE_DATES)
def test_right_check_digit_impossible_birth_date_is_rejected(number):
    assert number[-1] == ric.calc_check_digit(number)  # the check digit itself is right
    assert not is_valid_resident_id(number, today=TODAY)
    assert not validate_resident_ids([number], today=TODAY)[0]


def test_leap_day_2000_is_valid():
    assert is_valid_resident_id(with_check("35058220000229123"), today=TODAY)


def test_birth_date_and_sex():
    assert sex("11010519491231002X") == "F"
    assert sex(with_check("35058219800101123")) == "M"
    assert birth_dates(np.array(["11010519491231002X"]))[0] == np.datetime64("1949-12-31")


def _stdnum_reference(number: str) -> bool:
    """The contract's rule computed with stdnum's own pieces (check digit, birth date)."""
    n = number.upper()
    if len(n) != 18 or not n[:17].isdigit() or not n.isascii():
        return False
    if n[17] != ric.calc_check_digit(n):
        return False
    try:
        return ric.get_birth_date(n) <= TODAY
    except ValidationError:
        return False


def test_bulk_validator_matches_stdnum_on_100k_numbers():
    rng = np.random.default_rng(11643)
    n = 100_000
    prefixes = rng.choice(["350582", "350502", "110105", "440106", "510104", "350583"], size=n)
    years = rng.integers(1900, 2030, size=n)
    months = rng.integers(1, 14, size=n)  # 13 is impossible
    days = rng.integers(1, 32, size=n)  # 31 Feb etc. impossible
    seqs = rng.integers(0, 1000, size=n)
    numbers = []
    for p, y, m, d, s in zip(prefixes, years, months, days, seqs, strict=True):
        body = f"{p}{y:04d}{m:02d}{d:02d}{s:03d}"
        numbers.append(body + ric.calc_check_digit(body + "0"))
    # Corrupt a third of them: a changed digit, a wrong check digit, a lower-case x, a truncation.
    for i in rng.choice(n, size=n // 3, replace=False):
        kind = i % 4
        s = numbers[i]
        if kind == 0:
            j = int(rng.integers(0, 17))
            s = s[:j] + str((int(s[j]) + 1) % 10) + s[j + 1 :]
        elif kind == 1:
            s = s[:17] + ("0" if s[17] != "0" else "1")
        elif kind == 2:
            s = s[:17] + s[17].lower()
        else:
            s = s[: int(rng.integers(0, 18))]
        numbers[i] = s
    expected = np.array([_stdnum_reference(s) for s in numbers])
    got = validate_resident_ids(numbers, today=TODAY)
    assert expected.sum() > n // 4 and (~expected).sum() > n // 4  # both kinds well represented
    mismatches = [numbers[i] for i in np.flatnonzero(expected != got)[:5]]
    assert not mismatches, mismatches
    # The scalar check agrees too.
    sample = rng.choice(n, size=2000, replace=False)
    assert all(is_valid_resident_id(numbers[i], today=TODAY) == expected[i] for i in sample)


def test_check_digit_sql_agrees_with_the_python_check_in_duckdb_and_sqlite():
    """One module gives the check both as Python and as SQL (the benchmarks' raw baselines use it)."""
    import random
    import sqlite3

    import duckdb

    from lianfang.people.idnumbers import check_digit, check_digit_sql

    rng = random.Random(11643)
    bodies = [f"{rng.randrange(10**17):017d}" for _ in range(2000)] + [
        "35058219800101001",
        "11010519491231002",
    ]
    sql = f"SELECT id, {check_digit_sql('id')} FROM ids"
    con = duckdb.connect()
    con.execute("CREATE TABLE ids (id VARCHAR)")
    con.executemany("INSERT INTO ids VALUES (?)", [(b,) for b in bodies])
    lite = sqlite3.connect(":memory:")
    lite.execute("CREATE TABLE ids (id TEXT)")
    lite.executemany("INSERT INTO ids VALUES (?)", [(b,) for b in bodies])
    want = {b: check_digit(b) for b in bodies}
    assert dict(con.execute(sql).fetchall()) == want
    assert dict(lite.execute(sql).fetchall()) == want
    assert want["11010519491231002"] == "X"
