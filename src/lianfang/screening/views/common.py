"""What the screening pages share: the round lookup, times typed into forms, uploads stored as
import jobs, the rows of re-check tasks and the chart helpers."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from lianfang.accounts.scoping import Actor
from lianfang.core.times import SHANGHAI, parse_time
from lianfang.imports.models import ImportJob
from lianfang.imports.services import import_job_create, upload_error
from lianfang.people.presenters import person_public
from lianfang.screening import selectors
from lianfang.screening.models import Round, TaskStatus
from lianfang.screening.services import ScreeningError

T = TypeVar("T")


def _or_404(found: T | None) -> T:
    """What a selector found, or the 404 of "not there" and "not yours" alike."""
    if found is None:
        raise Http404
    return found


def _round_or_404(actor: Actor, code: str) -> Round:
    return _or_404(selectors.round_get(actor=actor, code=code))


# --- times in forms ----------------------------------------------------------------------------


def _local_input(value: dt.datetime) -> str:
    """A value for ``<input type="datetime-local">`` in Asia/Shanghai."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def _form_time(text: str, *, zh: str, en: str) -> dt.datetime | None:
    """A time typed into a form field (named ``zh`` / ``en`` in the message): None when left empty,
    a ``bad_time`` :class:`ScreeningError` when it is not a time."""
    if not text:
        return None
    value = parse_time(text)
    if value is None:
        raise ScreeningError("bad_time", f"{zh}格式无效：{text}", f"the {en} is not a time: {text}")
    return value


# --- uploads -----------------------------------------------------------------------------------


def _upload_job(request, actor: Actor, kind: str) -> tuple[ImportJob | None, str]:
    """The posted file stored as a background import job of ``kind``, or why it is refused."""
    upload = request.FILES.get("file")
    error = upload_error(upload)
    if error:
        return None, error
    return import_job_create(actor=actor, uploaded_file=upload, kind=kind), ""


# --- re-check tasks ----------------------------------------------------------------------------


def _task_view(task, actor: Actor, now: dt.datetime, person=None) -> dict:
    return {
        "task": task,
        "p": person_public(person or task.person, actor) if (person or task.person_id) else None,
        "overdue": selectors.is_overdue(task, now),
        "may_register": task.status == TaskStatus.OPEN and actor.may("recheck.register"),
    }


# --- charts ------------------------------------------------------------------------------------

HALF_HOUR = dt.timedelta(minutes=30)


def _chart_ms(value: dt.datetime) -> int:
    """Milliseconds for an ECharts time axis shown with ``useUTC``: shifted to Shanghai wall time."""
    return int((value.astimezone(dt.UTC) + dt.timedelta(hours=8)).timestamp() * 1000)


def _cumulative_points(series: list[tuple[dt.datetime, int]], now: dt.datetime) -> list[list[int]]:
    """A cumulative per-hour series as a line: 0 at the first hour's start, each total at its hour's
    end (or now, for the running hour), held flat until now."""
    if not series:
        return []
    points = [[_chart_ms(series[0][0]), 0]]
    for start, total in series:
        points.append([_chart_ms(min(start + dt.timedelta(hours=1), max(now, start))), total])
    if now > series[-1][0] + dt.timedelta(hours=1):
        points.append([_chart_ms(now), series[-1][1]])
    return points


def _chart_text() -> dict:
    return {
        "sampled": _("累计采样人次"),
        "resulted": _("累计出结果人次"),
        "tubes": _("每小时出结果管数"),
        "deadline": _("完成时限"),
        "now": _("现在"),
        "coverage": _("覆盖率"),
        "sampled_of": _("已采/应检"),
        "pending": _("待出结果管"),
    }


def _populated(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Rows with a registered population, and those without (金门县: nobody registered): the
    latter stay out of charts and rates, named once under the table."""
    return [r for r in rows if r["expected"]], [r for r in rows if not r["expected"]]


def _coverage_chart(rnd: Round, rows: list[dict]) -> dict:
    rows = _populated(rows)[0]
    return {
        "names": [r["name"] for r in rows],
        "values": [round(r["coverage"] * 100, 1) for r in rows],
        "sampled": [r["sampled"] for r in rows],
        "expected": [r["expected"] for r in rows],
        "urls": [reverse("screening:round_area", args=[rnd.code, r["code"]]) for r in rows],
    }
