"""Shared helpers of the screening tests: files in the FORMATS.md layouts and the small world they run in."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from lianfang.analytics.screening import REPORT_FILES, write_report
from lianfang.imports.services import import_file
from lianfang.screening import services
from lianfang.screening.report import round_report_compute

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE_HEADER = [
    "round_code",
    "tube_barcode",
    "pool_size",
    "id_type",
    "id_number",
    "name",
    "site_code",
    "collected_at",
    "box_code",
]
RESULT_HEADER = ["tube_barcode", "lab_code", "result", "ct_orf1ab", "ct_n", "reported_at"]
# The round every test screens in: Jinjiang county, starting 28 March 2022 06:00 in Quanzhou.
ROUND_START = dt.datetime(2022, 3, 28, 6, 0, tzinfo=SHANGHAI)


def sample(
    tube, id_number, *, rnd="R1", pool="5", site="S01", at="2022-03-28 09:00", id_type="", name="", box=""
):
    """One samples.csv row as a dict."""
    return {
        "round_code": rnd,
        "tube_barcode": tube,
        "pool_size": pool,
        "id_type": id_type,
        "id_number": id_number,
        "name": name,
        "site_code": site,
        "collected_at": at,
        "box_code": box,
    }


def result(tube, value, *, lab="L01", at="2022-03-28 14:00", ct_orf1ab="", ct_n=""):
    """One results.csv row as a dict."""
    return {
        "tube_barcode": tube,
        "lab_code": lab,
        "result": value,
        "ct_orf1ab": ct_orf1ab,
        "ct_n": ct_n,
        "reported_at": at,
    }


def write_csv(path: Path, header: list[str], rows: list[dict], *, bom: bool = True) -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


class Importer:
    """Writes rows to a numbered file under ``folder`` and imports it the way the CLI does."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0

    def __call__(self, kind: str, rows: list[dict], *, header: list[str] | None = None):
        """Returns (summary, rejects rows read back from the rejects file)."""
        self.count += 1
        header = header or (SAMPLE_HEADER if kind == "samples" else RESULT_HEADER)
        path = write_csv(self.folder / f"{self.count:03d}-{kind}.csv", header, rows)
        rejects = self.folder / f"{self.count:03d}-{kind}.rejects.csv"
        summary = import_file(kind=kind, path=path, actor=None, rejects_path=rejects)
        assert summary.read == summary.accepted + summary.duplicate + summary.held + summary.rejected
        assert summary.rejected == sum(summary.reasons.values())
        return summary, read_csv(rejects)


def setup_world(folder: Path):
    """Sites S01, S02 (Jinjiang), S03 (Licheng); labs L01, L02; round R1 open over Jinjiang county."""
    from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY

    write_csv(
        folder / "sites.csv",
        ["site_code", "name", "community_code", "desks"],
        [
            {"site_code": "S01", "name": "青阳一号点", "community_code": JJ_COMMUNITY, "desks": "4"},
            {"site_code": "S02", "name": "青阳二号点", "community_code": JJ_COMMUNITY, "desks": "2"},
            {"site_code": "S03", "name": "鲤城点", "community_code": LC_COMMUNITY, "desks": ""},
        ],
    )
    assert import_file(kind="sites", path=folder / "sites.csv", actor=None).accepted == 3
    write_csv(
        folder / "labs.csv",
        ["lab_code", "name", "daily_capacity"],
        [
            {"lab_code": "L01", "name": "泉州一检", "daily_capacity": "20000"},
            {"lab_code": "L02", "name": "晋江检测", "daily_capacity": ""},
        ],
    )
    assert import_file(kind="labs", path=folder / "labs.csv", actor=None).accepted == 2
    return services.round_open(actor=None, code="R1", name="第一轮", scope=["350582"], starts_at=ROUND_START)


def report_files(rnd, out_dir: Path) -> dict[str, bytes]:
    """The five report files of ``rnd`` as written, name → bytes."""
    write_report(round_report_compute(rnd), out_dir)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(REPORT_FILES)
    return {name: (out_dir / name).read_bytes() for name in REPORT_FILES}


def summary_of(rnd) -> dict:
    return round_report_compute(rnd).summary


def abnormal_pool(prefix: str, community: str, id_number: str, *, starts_at=None) -> None:
    """A round over ``community``'s county with one positive pool holding ``id_number``: round
    ``{prefix}-R1``, site ``{prefix}-S1``, lab ``{prefix}-L``, tube ``{prefix}-T1`` (an alert and a
    re-check task follow), all with the server's authority."""
    import pyarrow as pa

    from lianfang.screening import services
    from lianfang.screening.models import Site

    county = community[:6]
    services.round_open(
        actor=None, code=f"{prefix}-R1", name=f"{prefix} 轮次", scope=[county], starts_at=starts_at
    )
    Site.objects.create(
        code=f"{prefix}-S1",
        name=f"{prefix} 点",
        community_id=community,
        town_code=community[:9],
        county_code=county,
    )
    services.labs_import(
        table=pa.table({"lab_code": [f"{prefix}-L"], "name": [f"{prefix} 实验室"]}), actor=None
    )
    services.samples_import(
        table=pa.table(
            {
                "round_code": [f"{prefix}-R1"],
                "tube_barcode": [f"{prefix}-T1"],
                "pool_size": ["10"],
                "id_number": [id_number],
                "site_code": [f"{prefix}-S1"],
                "collected_at": ["2022-03-28 08:00"],
            }
        ),
        actor=None,
    )
    services.results_import(
        table=pa.table(
            {
                "tube_barcode": [f"{prefix}-T1"],
                "lab_code": [f"{prefix}-L"],
                "result": ["positive"],
                "reported_at": ["2022-03-28 12:00"],
            }
        ),
        actor=None,
    )
