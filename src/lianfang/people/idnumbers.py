"""Resident ID numbers (GB 11643-1999): one-by-one and vectorised checks.

The rule is FORMATS.md's: 18 characters, 17 digits and a check digit (``X`` either case), a real
birth date that is not in the future. The scalar check uses python-stdnum's ``cn.ric`` for the
check digit and the birth date; the bulk check does the same arithmetic on a whole column at
once with NumPy and is tested against stdnum on 100,000 numbers.

stdnum's ``validate`` also requires the region code to have existed in the birth year; that is
deliberately not applied: IDs were issued from 1984 on with the code current at issue, so a
real 南安 (350583, from 1993) resident born in 1950 would be refused.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


# A birth year more than this many years before today is not a living person's: a typo (1890 for
# 1990) or a made-up number. Such a resident ID is invalid (reason ``implausible_birth_year``).
MAX_AGE_YEARS = 130


def _today() -> dt.date:
    """Today in China (a birth date 'in the future' is judged on Beijing time)."""
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def check_digit(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    total = sum(int(c) * int(w) for c, w in zip(first17, WEIGHTS, strict=True))
    return chr(CHECK_CHARS[total % 11])


def check_digit_sql(column: str) -> str:
    """The same check character as a SQL expression over a text column of 17+ digits: only
    ``substr`` and integer arithmetic, so DuckDB, SQLite and PostgreSQL all run it."""
    total = " + ".join(f"CAST(substr({column}, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(WEIGHTS))
    return f"substr('{CHECK_CHARS.tobytes().decode()}', (({total}) % 11) + 1, 1)"


def is_valid_resident_id(number: str, *, today: dt.date | None = None) -> bool:
    """True for an 18-character resident ID with a real, past birth date and the right check digit."""
    if not isinstance(number, str) or len(number) != 18 or not number[:17].isascii():
        return False
    number = number.upper()
    if not number[:17].isdigit() or number[17] != ric.calc_check_digit(number):
        return False
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        return False
    today = today or _today()
    return today.year - MAX_AGE_YEARS <= born.year and born <= today


def birth_date(number: str) -> dt.date:
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def sex(number: str) -> str:
    """'M' or 'F' from the 17th digit (odd: male)."""
    return "M" if int(number[16]) % 2 else "F"


def _as_bytes_matrix(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper-cased fixed-width ASCII matrix (n × 18) and a mask of the rows that are 18 ASCII chars."""
    strs = np.asarray(numbers, dtype=object)
    lengths = np.fromiter(
        (len(s) if isinstance(s, str) else -1 for s in strs), dtype=np.int64, count=len(strs)
    )
    ok = lengths == 18
    fixed = np.array([s if good else "" for s, good in zip(strs, ok, strict=True)], dtype="U18")
    fixed = np.char.upper(fixed)
    codes = fixed.view(np.uint32).reshape(len(fixed), 18) if len(fixed) else np.zeros((0, 18), np.uint32)
    ok &= (codes < 128).all(axis=1)
    return codes.astype(np.uint8), ok


def validate_resident_ids(numbers, *, today: dt.date | None = None) -> np.ndarray:
    """Vectorised :func:`is_valid_resident_id` over a sequence of strings → boolean array."""
    numbers = list(numbers) if not isinstance(numbers, np.ndarray) else numbers
    if len(numbers) == 0:
        return np.zeros(0, dtype=bool)
    m, ok = _as_bytes_matrix(numbers)
    return _validate_matrix(m, ok, today or _today())


def validate_resident_ids_arrow(
    numbers: pa.Array | pa.ChunkedArray, *, today: dt.date | None = None
) -> np.ndarray:
    """The same check straight from an Arrow string column, without a Python object per value.

    The 18 bytes of each value are gathered from the Arrow buffers into an n × 18 matrix; nulls
    and values of any other length are invalid. Used on the millions of rows of a screening file.
    """
    if isinstance(numbers, pa.ChunkedArray):
        numbers = numbers.combine_chunks() if numbers.num_chunks else pa.array([], pa.string())
    numbers = numbers.cast(pa.large_string())
    n = len(numbers)
    if n == 0:
        return np.zeros(0, dtype=bool)
    _, offsets_buf, data_buf = numbers.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[numbers.offset : numbers.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    ok = (offsets[1:] - offsets[:-1]) == 18
    if numbers.null_count:
        ok &= np.asarray(numbers.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    starts = np.where(ok, offsets[:-1], 0)
    m = np.zeros((n, 18), dtype=np.uint8)
    if ok.any():
        m[ok] = data[starts[ok][:, None] + np.arange(18)]
    m = np.where(m == ord("x"), ord("X"), m).astype(np.uint8)
    return _validate_matrix(m, ok, today or _today())


def _validate_matrix(m: np.ndarray, ok: np.ndarray, today: dt.date) -> np.ndarray:
    ok = ok & (m < 128).all(axis=1)
    digits = m[:, :17].astype(np.int64) - 48
    ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    last = m[:, 17]
    ok &= ((last >= 48) & (last <= 57)) | (last == ord("X"))
    total = (np.clip(digits, 0, 9) * WEIGHTS).sum(axis=1)
    ok &= CHECK_CHARS[total % 11] == last
    # Birth date: a real calendar date, not in the future.
    d = np.clip(digits, 0, 9)
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    month = d[:, 10] * 10 + d[:, 11]
    day = d[:, 12] * 10 + d[:, 13]
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    max_day = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] - ((month == 2) & ~leap)
    ok &= month_ok & (day >= 1) & (day <= max_day) & (year >= today.year - MAX_AGE_YEARS)
    ymd = year * 10000 + month * 100 + day
    ok &= ymd <= today.year * 10000 + today.month * 100 + today.day
    return ok


def birth_dates(numbers) -> np.ndarray:
    """datetime64[D] birth dates of resident IDs already known to be valid."""
    arr = np.asarray(numbers, dtype="U18")
    iso = np.char.add(
        np.char.add(np.char.add(np.char.add(_slice(arr, 6, 10), "-"), _slice(arr, 10, 12)), "-"),
        _slice(arr, 12, 14),
    )
    return iso.astype("datetime64[D]")


def _slice(arr: np.ndarray, start: int, stop: int) -> np.ndarray:
    width = stop - start
    codes = arr.view(np.uint32).reshape(len(arr), 18)[:, start:stop]
    return np.ascontiguousarray(codes).view(f"U{width}").reshape(len(arr))


# What an invalid ID number most likely went through, so that the message says what to fix
# (issue 10, item 17). Only the rows already found invalid are looked at, one by one.
_FULLWIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_SPACES = re.compile("[\\s\u00ad\u180e\u200b-\u200f\u2028-\u202f\u2060-\u2064\ufeff]")
_EXCEL_NUMBER = re.compile(r"^[0-9](?:\.[0-9]+)?E\+?[0-9]+$", re.IGNORECASE)

PROBLEMS = {
    "id_number_excel": (
        "证件号码被 Excel 当作数字处理了（显示成科学计数法如 3.50503E+17，或只保留 15 位、末尾变成 000），"
        "后几位已经丢失。请把该列设置为“文本”格式后重新填写号码",
        "Excel turned the ID number into a number (shown in scientific notation such as 3.50503E+17, "
        "or kept to 15 digits with 000 at the end) and its last digits are lost; format the column "
        "as Text and type the numbers again",
    ),
    "id_number_fullwidth": (
        "证件号码含全角数字或字母（如 １２３），请改用半角（英文输入法）输入",
        "the ID number has full-width digits or letters (such as １２３); type them in ordinary "
        "half-width characters",
    ),
    "id_number_spaces": (
        "证件号码中间有空格或看不见的字符（如零宽空格），请删除后重新输入",
        "the ID number has spaces or invisible characters (such as a zero-width space) inside it; "
        "remove them",
    ),
    "implausible_birth_year": (
        f"出生年份不合理（早于 {MAX_AGE_YEARS} 年前或晚于今天）",
        f"implausible birth year (more than {MAX_AGE_YEARS} years ago, or after today)",
    ),
}


def problem(number: str, *, today: dt.date | None = None) -> str:
    """The reason for an ID number already found invalid: one of :data:`PROBLEMS` when the number
    shows what happened to it, else ``invalid_id_number``."""
    number = number or ""
    if _EXCEL_NUMBER.match(number) or (len(number) == 18 and number.isdigit() and number.endswith("000")):
        # Excel keeps 15 significant digits of a number: an 18-digit ID typed into a number cell
        # comes back (XLSX, or CSV after widening the column) with its last three digits 000.
        return "id_number_excel"
    if _FULLWIDTH.search(number):
        return "id_number_fullwidth"
    if _SPACES.search(number):
        return "id_number_spaces"
    if (
        len(number) == 18
        and number[:17].isascii()
        and number[:17].isdigit()
        and implausible_year(int(number[6:10]), today=today)
    ):
        return "implausible_birth_year"
    return "invalid_id_number"


def implausible_year(year: int, *, today: dt.date | None = None) -> bool:
    today = today or _today()
    return not today.year - MAX_AGE_YEARS <= year <= today.year
