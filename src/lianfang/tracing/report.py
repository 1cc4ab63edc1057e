"""``lianfang trace plans --out FILE``: the plans report (FORMATS.md "Tracing")."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from lianfang.core.times import format_time
from lianfang.tracing.facts import plan_rows

HEADER = (
    "id_type",
    "id_number",
    "name",
    "category",
    "case_code",
    "protocol",
    "measure",
    "last_exposure_at",
    "ends_at",
    "monitoring_ends_at",
    "test_days",
    "upgraded_at",
)


def plans_report_write(*, out: Path, at: dt.datetime | None = None) -> int:
    """Write the report; returns the number of rows (people under a plan)."""
    rows = plan_rows(at)
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        for r in rows:
            c, plan = r.contact, r.plan
            writer.writerow(
                (
                    c.id_type,
                    c.id_number,
                    c.name,
                    c.category,
                    c.case_code,
                    plan.edition,
                    plan.measure,
                    format_time(plan.last_exposure_at),
                    format_time(plan.ends_at),
                    format_time(plan.monitoring_ends_at),
                    plan.test_days_text,
                    format_time(r.upgraded_at),
                )
            )
    return len(rows)
