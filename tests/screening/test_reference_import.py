"""`import sites` and `import labs` (FORMATS.md, Reference data): reasons in order, updates, duplicates."""

from __future__ import annotations

import pytest

from lianfang.imports.services import import_file
from lianfang.screening.models import Lab, Site
from tests.conftest import JJ_COMMUNITY
from tests.screening.helpers import read_csv, write_csv

pytestmark = pytest.mark.django_db

SITE_HEADER = ["site_code", "name", "community_code", "desks"]
LAB_HEADER = ["lab_code", "name", "daily_capacity"]


def _import(tmp_path, kind, header, rows):
    path = write_csv(tmp_path / f"{kind}.csv", header, rows)
    rejects = tmp_path / f"{kind}.rejects.csv"
    summary = import_file(kind=kind, path=path, actor=None, rejects_path=rejects)
    assert summary.read == summary.accepted + summary.duplicate + summary.held + summary.rejected
    return summary, [r["reason"] for r in read_csv(rejects)]


def test_sites_reasons_in_order(tmp_path):
    rows = [
        {"site_code": "S1", "name": "一号点", "community_code": JJ_COMMUNITY, "desks": "4"},
        {"site_code": "S2", "name": "", "community_code": "999999999999", "desks": "x"},  # name first
        {"site_code": "S3", "name": "三号点", "community_code": "999999999999", "desks": "x"},
        {"site_code": "S4", "name": "四号点", "community_code": JJ_COMMUNITY, "desks": "0"},
        {"site_code": "S5", "name": "五号点", "community_code": JJ_COMMUNITY, "desks": "2.5"},
        {"site_code": "S6", "name": "六号点", "community_code": JJ_COMMUNITY, "desks": "inf"},
        {"site_code": "S7", "name": "七号点", "community_code": JJ_COMMUNITY, "desks": "nan"},
        {"site_code": "S8", "name": "八号点", "community_code": JJ_COMMUNITY, "desks": "1000"},
        {"site_code": "S9", "name": "九号点", "community_code": JJ_COMMUNITY, "desks": "999.0"},
        {"site_code": "S10", "name": "十号点", "community_code": JJ_COMMUNITY, "desks": ""},
    ]
    summary, reasons = _import(tmp_path, "sites", SITE_HEADER, rows)
    assert reasons == ["missing_field:name", "unknown_community", *["bad_desks"] * 5]
    assert summary.accepted == 3
    assert dict(Site.objects.values_list("code", "desks")) == {"S1": 4, "S9": 999, "S10": 1}
    again, _ = _import(tmp_path, "sites", SITE_HEADER, rows[:1])
    assert (again.accepted, again.duplicate) == (0, 1)
    moved, _ = _import(tmp_path, "sites", SITE_HEADER, [{**rows[0], "desks": "6"}])
    assert moved.accepted == 1 and Site.objects.get(code="S1").desks == 6


def test_labs_reasons_and_blank_capacity_keeps_the_stored_one(tmp_path):
    rows = [
        {"lab_code": "L1", "name": "市疾控", "daily_capacity": "20000"},
        {"lab_code": "", "name": "", "daily_capacity": "x"},  # lab_code first
        {"lab_code": "L3", "name": "三院", "daily_capacity": "-1"},
        {"lab_code": "L4", "name": "四院", "daily_capacity": "inf"},
        {"lab_code": "L5", "name": "五院", "daily_capacity": "0"},
    ]
    summary, reasons = _import(tmp_path, "labs", LAB_HEADER, rows)
    assert reasons == ["missing_field:lab_code", "bad_capacity", "bad_capacity"]
    assert summary.accepted == 2
    renamed, _ = _import(
        tmp_path, "labs", LAB_HEADER, [{"lab_code": "L1", "name": "泉州市疾控", "daily_capacity": ""}]
    )
    assert renamed.accepted == 1
    assert Lab.objects.filter(code="L1").values_list("name", "daily_capacity").get() == ("泉州市疾控", 20000)
