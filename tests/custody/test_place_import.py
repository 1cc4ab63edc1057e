"""``lianfang import places`` and the places page's upload: every reason from a file holding it,
the counts add up, the same file twice is all duplicates, an existing place is never changed by a
file, Chinese headers and kinds are taken, another county's community is refused."""

from __future__ import annotations

import csv
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lianfang.accounts.roles import Role
from lianfang.custody.models import Place, Unit
from lianfang.custody.services.places import place_create
from lianfang.imports.models import ImportJob
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, logged_in, make_user
from tests.tracing.helpers import cli

HEADER = ["place_code", "name", "kind", "community_code", "units", "beds"]


def _file(path, rows, header=HEADER):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _import(capsys, path) -> dict:
    code, out, err = cli(
        capsys, "import", "places", path, "--json", "--rejects", path.with_suffix(".rejects.csv")
    )
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert (
        summary["read"] == summary["accepted"] + summary["duplicate"] + summary["held"] + summary["rejected"]
    )
    with open(path.with_suffix(".rejects.csv"), encoding="utf-8-sig") as f:
        summary["rows"] = [r["reason"] for r in csv.DictReader(f)]
    return summary


ROWS = [
    ["JJ-H1", "晋江隔离酒店", "酒店", JJ_COMMUNITY, "101-105", "2"],
    ["JJ-F1", "晋江方舱", "方舱医院", JJ_COMMUNITY, "1-20", ""],
    ["JJ-D1", "晋江定点医院", "designated_hospital", JJ_COMMUNITY, "A1-A3", ""],
    ["JJ-X1", "", "hotel", JJ_COMMUNITY, "1-2", ""],  # missing_field:name
    ["JJ-X2", "某处", "宾馆", JJ_COMMUNITY, "1-2", ""],  # bad_kind
    ["JJ-X3", "某处", "hotel", JJ_COMMUNITY, "9-1", ""],  # bad_units
    ["JJ-X4", "某处", "hotel", JJ_COMMUNITY, "1-2", "两"],  # bad_beds
    ["JJ-X5", "某处", "hotel", JJ_COMMUNITY, "1-2", "30"],  # bad_beds (1–20)
    ["JJ-X6", "某处", "hotel", "350582999999", "1-2", ""],  # unknown_community
    ["JJ-X7", "某处", "hotel", JJ_COMMUNITY, "1, 1", ""],  # bad_units (repeated)
]


def test_every_reason_and_the_counts(db, capsys, tmp_path):
    summary = _import(capsys, _file(tmp_path / "places.csv", ROWS))
    assert (summary["read"], summary["accepted"], summary["rejected"]) == (10, 3, 7)
    assert summary["reasons"] == {
        "missing_field:name": 1,
        "bad_kind": 1,
        "bad_units": 2,
        "bad_beds": 2,
        "unknown_community": 1,
    }
    hotel = Place.objects.get(code="JJ-H1")
    assert hotel.kind == "hotel" and hotel.community_id == JJ_COMMUNITY
    assert sorted(Unit.objects.filter(place=hotel).values_list("label", "beds")) == [
        (f"10{n}", 2) for n in range(1, 6)
    ]
    assert Place.objects.get(code="JJ-F1").units.count() == 20 and Place.objects.get(code="JJ-D1").kind == (
        "designated_hospital"
    )
    assert not Place.objects.filter(code__startswith="JJ-X").exists()
    # The same file again: the accepted ones are duplicates, nothing new.
    again = _import(capsys, _file(tmp_path / "again.csv", ROWS))
    assert (again["accepted"], again["duplicate"], again["rejected"]) == (0, 3, 7)
    assert Place.objects.count() == 3


def test_an_existing_place_is_never_changed_by_a_file(db, capsys, tmp_path):
    place_create(
        actor=None,
        code="JJ-H1",
        name="晋江隔离酒店",
        kind="hotel",
        community_code=JJ_COMMUNITY,
        units="101-103",
    )
    summary = _import(
        capsys, _file(tmp_path / "p.csv", [["JJ-H1", "晋江隔离酒店", "hotel", JJ_COMMUNITY, "101-110", ""]])
    )
    assert summary["reasons"] == {"code_taken": 1}
    assert Place.objects.get(code="JJ-H1").units.count() == 3


def test_chinese_headers_are_taken(db, capsys, tmp_path):
    header = ["编号", "名称", "类型", "所在社区代码", "房间或床位", "每间床数"]
    summary = _import(capsys, _file(tmp_path / "zh.csv", [ROWS[0]], header=header))
    assert summary["accepted"] == 1 and Place.objects.filter(code="JJ-H1").exists()


@pytest.fixture
def jj_office(db):
    return make_user("jj_places", Role.COMMAND_OFFICE, [JINJIANG])


def test_the_page_upload_imports_as_the_user(jj_office, tmp_path, django_capture_on_commit_callbacks):
    rows = [ROWS[0], ["LC-H1", "鲤城酒店", "hotel", LC_COMMUNITY, "1-3", ""]]
    data = _file(tmp_path / "up.csv", rows).read_bytes()
    client = logged_in(jj_office)
    with django_capture_on_commit_callbacks(execute=True):  # the job is queued when the upload commits
        response = client.post(
            "/custody/places/", {"action": "upload", "file": SimpleUploadedFile("places.csv", data)}
        )
    job = ImportJob.objects.get(kind="places")
    assert response.status_code == 302 and response.url == f"/imports/{job.pk}/"
    job.refresh_from_db()
    assert job.status == "done" and job.summary["accepted"] == 1
    assert job.summary["reasons"] == {"unknown_community": 1}  # Licheng is not Jinjiang's
    assert list(Place.objects.values_list("code", flat=True)) == ["JJ-H1"]
    page = client.get("/custody/places/").content.decode()
    assert "up.csv" in page or "places.csv" in page


def test_the_page_refuses_a_bad_file_and_a_role_that_may_not_manage(jj_office):
    client = logged_in(jj_office)
    response = client.post(
        "/custody/places/", {"action": "upload", "file": SimpleUploadedFile("p.doc", b"x")}
    )
    assert response.status_code == 400 and "不支持的文件格式" in response.content.decode()
    response = client.post("/custody/places/", {"action": "upload"})
    assert response.status_code == 400 and "请选择要导入的文件" in response.content.decode()
    grid = make_user("jj_grid", Role.COMMUNITY_WORKER, [JJ_COMMUNITY])
    response = logged_in(grid).post(
        "/custody/places/", {"action": "upload", "file": SimpleUploadedFile("p.csv", b"place_code\n")}
    )
    assert response.status_code == 403 and not ImportJob.objects.exists()
