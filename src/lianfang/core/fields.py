"""The length and character rule of every value that comes in (a file's cell, an API field), taken
from the model field it is stored in or looked up against: the one place its numbers live.

PostgreSQL refuses a text with a NUL byte and a value longer than its ``varchar(n)``, and either
used to abort a whole import or answer a request with 500, while SQLite stored the same value
silently. So both databases now get the same rule before any SQL runs (issue 10, item 4):

* a file's row with such a cell is rejected, ``bad_characters:<col>`` or ``too_long:<col>``,
  before any other rule of its import (like ``extra_cells``): nothing of it is stored, it is
  counted, and it reaches the rejects file (:func:`screened`, :func:`run_with_rejected`);
* an API field is refused with 422 and a bilingual message (:func:`api_text`); a web request
  with a NUL anywhere in its parameters answers 400 (:class:`RefuseControlCharacters`).

"Bad characters" are the control characters that no name, code or address holds: C0 controls
other than tab, LF and CR (NUL among them), DEL, and the non-characters U+FFFE and U+FFFF.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The same set for Arrow (RE2 syntax) and for Python's re.
BAD_CHARACTERS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x{fffe}\x{ffff}]"
_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")

# Parquet column types a column accepts (issue 10, item 14): free text takes only text; a code or
# an ID number also whole numbers (exported from a number column); a parsed value its own types.
TEXT = frozenset({"text"})
CODE = frozenset({"text", "integer"})
NUMBER = frozenset({"text", "integer", "number"})
TIME = frozenset({"text", "time"})


@dataclass(frozen=True)
class Column:
    """What a column of an import accepts: at most ``max_length`` characters (None: the value is
    parsed, not stored as written, and its parser refuses anything long), no bad characters, and
    in a Parquet file only the column ``types`` above.

    And how a person without the manual fills it in (issue 11, item 5), declared once beside the
    rule: ``label`` is the Chinese header accepted in place of the English code (FORMATS.md's
    codes stay the contract) and written in the template; ``example`` the template's example
    value; ``required`` whether a row needs it; ``note`` (Chinese, English) what to write;
    ``allowed`` the values it takes as ``(value, Chinese, English)``, listed on the upload page."""

    max_length: int | None = None
    types: frozenset[str] = TEXT
    label: str = ""
    example: str = ""
    required: bool = False
    note: tuple[str, str] = ("", "")
    allowed: tuple[tuple[str, str, str], ...] = ()


def stored(field, types: frozenset[str] = TEXT, **guide) -> Column:
    """A column stored in (or looked up against) the model ``field``: its ``max_length``.
    ``guide``: ``label``, ``example``, ``required``, ``note``, ``allowed`` (see :class:`Column`)."""
    return Column(max_length=field.max_length, types=types, **guide)


def parsed(types: frozenset[str] = TEXT, **guide) -> Column:
    return Column(max_length=None, types=types, **guide)


def check(table: pa.Table, columns: dict[str, Column]) -> np.ndarray:
    """Per row ``""`` or the first broken rule, columns in the declared order:
    ``bad_characters:<col>`` before ``too_long:<col>``. Vectorised (Arrow), so it runs before any
    importer makes Python objects or fixed-width NumPy strings of a column."""
    reasons = np.full(table.num_rows, "", dtype=object)
    if not table.num_rows:
        return reasons
    for name, rule in columns.items():
        if name not in table.column_names:
            continue
        column = table.column(name)
        if not pa.types.is_string(column.type):
            continue
        hits = [(pc.match_substring_regex(column, BAD_CHARACTERS), "bad_characters")]
        if rule.max_length is not None:
            hits.append((pc.greater(pc.utf8_length(column), rule.max_length), "too_long"))
        for mask, code in hits:
            flagged = np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
            if flagged.any():
                reasons[flagged & (reasons == "")] = f"{code}:{name}"
    return reasons


def run_with_rejected(run: Callable, table: pa.Table, rejected: np.ndarray, *, progress=None, **kwargs):
    """Run an importer on the rows not ``rejected`` (``""``); the others are rejected with their
    reason and never reach it. The summary and the outcomes cover every row in the table's order,
    so read = accepted + duplicate + held + rejected holds and the rejects file keeps its order.
    The importer runs even when no row is left (its role check and audit still apply)."""
    mask = rejected != ""
    count = int(mask.sum())
    rest = table.filter(pa.array(~mask))
    if progress is not None:
        kwargs["progress"] = lambda done, total: progress(done + count, total + count)
    summary, kept = run(table=rest, **kwargs)
    summary.read += count
    for reason, n in zip(*np.unique(rejected[mask].astype(str), return_counts=True), strict=True):
        summary.reject(str(reason), int(n))
    outcomes = np.array(rejected, dtype=object)
    outcomes[~mask] = np.asarray(kept, dtype=object)
    return summary, outcomes


def screened(columns: Callable[[], dict[str, Column]]):
    """Decorate an importer ``run(table=, ...)`` so that rows breaking :func:`check` of
    ``columns()`` (read at call time: the models are loaded by then) are rejected first, on every
    path that calls it (a file, a web upload, a device's batch)."""

    def decorate(run: Callable) -> Callable:
        @functools.wraps(run)
        def wrapper(*, table: pa.Table, **kwargs):
            rejected = check(table, columns())
            if not (rejected != "").any():
                return run(table=table, **kwargs)
            return run_with_rejected(run, table, rejected, **kwargs)

        wrapper.columns = columns
        return wrapper

    return decorate


def bad_text(value: str, max_length: int | None = None) -> tuple[str, str] | None:
    """(Chinese, English) of what is wrong with one value, or None."""
    if _BAD.search(value):
        return "含有不允许的控制字符（如 NUL）", "holds control characters that are not allowed (such as NUL)"
    if max_length is not None and len(value) > max_length:
        return f"长度超过 {max_length} 个字符", f"is longer than {max_length} characters"
    return None


def api_text(field=None, *, max_length: int | None = None):
    """A ``str`` type for django-ninja schemas and parameters: no bad characters and at most the
    model ``field``'s ``max_length`` (or ``max_length``); a violation is a 422 with a bilingual
    message."""
    from pydantic import AfterValidator

    limit = field.max_length if field is not None else max_length

    def validate(value: str) -> str:
        wrong = bad_text(value, limit)
        if wrong:
            raise ValueError(f"{wrong[0]} / {wrong[1]}")
        return value

    return Annotated[str, AfterValidator(validate)]


def api_choice(values, *, zh: str, en: str):
    """A ``str`` type for django-ninja parameters and fields that takes one of ``values`` (the
    schema declares them as an enum); anything else is a 422 with the bilingual message ``zh / en``
    followed by the values allowed."""
    from pydantic import AfterValidator, WithJsonSchema

    allowed = tuple(str(v) for v in values)
    message = f"{zh}（{'、'.join(allowed)}） / {en} ({', '.join(allowed)})"

    def validate(value: str) -> str:
        if value not in allowed:
            raise ValueError(message)
        return value

    return Annotated[str, AfterValidator(validate), WithJsonSchema({"type": "string", "enum": list(allowed)})]


# Times an API field may hold: wide enough for any real round, box or sample, narrow enough that
# no conversion between time zones overflows (0001-01-01 00:00 in Shanghai is before year 1 in UTC).
EARLIEST_YEAR, LATEST_YEAR = 1970, 2999


def api_time():
    """A ``datetime`` type for django-ninja schemas: a year from :data:`EARLIEST_YEAR` to
    :data:`LATEST_YEAR`, else a 422 with a bilingual message (not an OverflowError, 500)."""
    import datetime as dt

    from pydantic import AfterValidator

    def validate(value: dt.datetime) -> dt.datetime:
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            raise ValueError(
                f"时间须在 {EARLIEST_YEAR} 年至 {LATEST_YEAR} 年之间 / "
                f"a time must fall between the years {EARLIEST_YEAR} and {LATEST_YEAR}"
            )
        return value

    return Annotated[dt.datetime, AfterValidator(validate)]


_REFUSED = (
    "请求中含有不允许的控制字符（如 NUL），已拒绝。",
    "The request holds control characters that are not allowed (such as NUL) and was refused.",
)


class RefuseControlCharacters:
    """Answer 400 to a request whose path, query or form fields hold a bad character (a NUL
    reached PostgreSQL and made a 500 of the login form, the search box and the API's lookups).
    Uploaded files and JSON bodies are not looked at here: a file's cells and a batch's rows are
    judged row by row by the importers, the API's fields by their schemas (:func:`api_text`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._refused(request):
            from django.http import HttpResponseBadRequest, JsonResponse

            if request.path.startswith("/api/"):
                return JsonResponse({"detail": " / ".join(_REFUSED)}, status=400)
            return HttpResponseBadRequest(
                "\n".join(_REFUSED).encode(), content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)

    @staticmethod
    def _refused(request) -> bool:
        if _BAD.search(request.path):
            return True
        params = [request.GET]
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            params.append(request.POST)
        return any(
            _BAD.search(key) or any(_BAD.search(v) for v in values)
            for query in params
            for key, values in query.lists()
        )


# What an API read showing people answers besides its result: the role may not read people
# (``openapi_extra`` of the apps' routes, so the schema and schemathesis know the 403).
API_READS_PEOPLE = {
    "responses": {
        403: {
            "description": "the token's role may not read people / 角色无权查询人员",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        }
    }
}
API_MAX_LIMIT = 500
API_MAX_OFFSET = 10_000_000


def api_page(limit: int, offset: int) -> slice:
    """The rows a list route's ``limit`` and ``offset`` ask for, clamped to 1–500 rows."""
    start = max(0, min(offset, API_MAX_OFFSET))
    return slice(start, start + max(1, min(limit, API_MAX_LIMIT)))
