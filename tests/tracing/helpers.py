"""Files in the FORMATS.md "Tracing" layouts, and the CLI run in-process."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lianfang.cli import main
from tests.conftest import rid

CASE_HEADER = [
    "case_code",
    "id_type",
    "id_number",
    "name",
    "phone",
    "classification",
    "onset_date",
    "first_positive_sampled_at",
    "reported_at",
    "found_in",
    "severity",
    "community_code",
    "confirmed_at",
]
CONTACT_HEADER = [
    "case_code",
    "category",
    "id_type",
    "id_number",
    "name",
    "via_id_number",
    "phone",
    "community_code",
    "place",
    "last_exposure_at",
    "registered_at",
]
PLAN_HEADER = (
    "id_type,id_number,name,category,case_code,protocol,measure,last_exposure_at,ends_at,"
    "monitoring_ends_at,test_days,upgraded_at"
)

# People: cases and contacts (Jinjiang IDs; none in the registry unless a test adds them).
CASE_A = rid("350582", "19800101", "011")
CASE_B = rid("350582", "19900202", "021")
P1 = rid("350582", "19850505", "031")
P2 = rid("350582", "19860606", "041")
P3 = rid("350582", "19870707", "051")


def case(code="C1", id_number=CASE_A, **kw) -> dict:
    row = {
        "case_code": code,
        "id_type": "",
        "id_number": id_number,
        "name": "病例甲",
        "phone": "",
        "classification": "confirmed",
        "onset_date": "",
        "first_positive_sampled_at": "2022-03-20 08:00",
        "reported_at": "2022-03-21 10:00",
        "found_in": "screening",
        "severity": "",
        "community_code": "350582001004",
        "confirmed_at": "",
    }
    row.update(kw)
    return row


def contact(id_number=P1, category="close", case_code="C1", **kw) -> dict:
    row = {
        "case_code": case_code,
        "category": category,
        "id_type": "",
        "id_number": id_number,
        "name": "接触者",
        "via_id_number": "",
        "phone": "",
        "community_code": "",
        "place": "",
        "last_exposure_at": "2022-03-20 18:00",
        "registered_at": "2022-03-21 12:00",
    }
    row.update(kw)
    return row


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def import_rows(capsys, tmp_path: Path, kind: str, rows: list[dict], *, name: str | None = None) -> dict:
    """``lianfang import KIND FILE --json --rejects …``: the summary, with the rejects' reasons."""
    header = CASE_HEADER if kind == "cases" else CONTACT_HEADER
    path = write_csv(tmp_path / (name or f"{kind}.csv"), header, rows)
    rejects = tmp_path / f"{path.stem}.rejects.csv"
    code, out, err = cli(capsys, "import", kind, path, "--json", "--rejects", rejects)
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert (
        summary["read"] == summary["accepted"] + summary["duplicate"] + summary["held"] + summary["rejected"]
    )
    with open(rejects, encoding="utf-8-sig") as f:
        summary["rejected_rows"] = [r["reason"] for r in csv.DictReader(f)]
    return summary


def plans(capsys, tmp_path: Path, *extra) -> list[dict]:
    out_file = tmp_path / "plans.csv"
    code, out, err = cli(capsys, "trace", "plans", "--out", out_file, *extra)
    assert code == 0, err
    text = out_file.read_text(encoding="utf-8")
    assert text.splitlines()[0] == PLAN_HEADER
    with open(out_file, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def tracing_world(
    prefix: str,
    community: str,
    *,
    case_id: str,
    case_name: str,
    contact_id: str,
    contact_name: str,
    contact_phone: str = "",
    task=None,
) -> dict:
    """A case ``{prefix}-C1`` living in ``community`` with one close contact living there too,
    both written with the server's authority; with a screening re-check ``task``, its person's
    positive finding awaiting the CDC too. For the route walkers."""
    import datetime as dt

    import pyarrow as pa

    from lianfang.screening.models import PositiveFinding
    from lianfang.tracing import services

    services.cases_import(
        table=pa.Table.from_pylist(
            [case(f"{prefix}-C1", id_number=case_id, name=case_name, community_code=community)]
        ),
        actor=None,
    )
    services.contacts_import(
        table=pa.Table.from_pylist(
            [
                contact(
                    contact_id,
                    case_code=f"{prefix}-C1",
                    name=contact_name,
                    phone=contact_phone,
                    community_code=community,
                )
            ]
        ),
        actor=None,
    )
    finding = None
    if task is not None:
        at = dt.datetime(2022, 3, 28, 8, 0, tzinfo=dt.UTC)
        finding = PositiveFinding.objects.create(
            task=task,
            person=task.person,
            round=task.round,
            tube_barcode=f"{prefix}-X1",
            sampled_at=at,
            reported_at=at,
        )
    return {"case_code": f"{prefix}-C1", "finding": finding}
