"""Companions of the recorded cases in a pings file, written as FORMATS.md's ``companions.csv``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lianfang.accounts.models import AuditAction
from lianfang.accounts.services import audit_record
from lianfang.analytics import companions as analytics
from lianfang.core.errors import Refused
from lianfang.core.plugins import provider
from lianfang.edition.services import in_force


class TracingMissing(Refused):
    def __init__(self) -> None:
        super().__init__(
            "tracing_missing",
            "未安装流调模块（没有病例数据来源），无法计算时空伴随。",
            "The tracing app is not installed (no source of cases): companions cannot be computed.",
        )


class UnknownCases(Refused):
    def __init__(self, codes: list[str]) -> None:
        shown = ", ".join(codes)
        super().__init__("unknown_case", f"没有这些病例：{shown}", f"No such cases: {shown}")


@dataclass(frozen=True)
class Written:
    rows: int
    cases: int  # the cases considered (those asked for, or every recorded case)
    edition: str
    engine: str


def cases_table(case_facts) -> list[dict]:
    """The analytics' case rows from ``CaseFact``s (core/facts.py)."""
    return [
        {"case_code": c.case_code, "id_number": c.id_number, "phone": c.phone, "reported_at": c.reported_at}
        for c in case_facts
    ]


def companions_export(
    *, pings: Path, out: Path, case_codes: list[str] | None = None, engine: str = "duckdb"
) -> Written:
    """Server authority only (the CLI): every recorded case is read, full keys are written.

    The look-back, co-dwell and optional total dwell are the edition in force's. Raises
    :class:`TracingMissing`, :class:`UnknownCases`, ``ImportFileError`` (the pings file) or
    ``analytics.EngineUnavailable``. The export is audited (who: the CLI; what: the cases, the
    edition, the engine and the row count), as every export of personal data is.
    """
    cases_as_of = provider("cases_as_of")
    if cases_as_of is None:
        raise TracingMissing()
    cases = cases_table(cases_as_of(None))
    edition = in_force()
    params = analytics.Params.of(edition.tracing)
    try:
        rows = analytics.companions_write(pings, cases, params, out, case_codes=case_codes, engine=engine)
    except analytics.UnknownCases as exc:
        raise UnknownCases(exc.codes) from exc
    considered = len(set(case_codes)) if case_codes else len(cases)
    audit_record(
        actor=None,
        action=AuditAction.EXPORT,
        object_type="companions",
        object_id=Path(out).name,
        detail={
            "pings": Path(pings).name,
            "cases": sorted(case_codes) if case_codes else "all",
            "rows": rows,
            "edition": edition.code,
            "engine": engine,
        },
    )
    return Written(rows=rows, cases=considered, edition=edition.code, engine=engine)
