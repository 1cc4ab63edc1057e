"""`import persons` per FORMATS.md: every reason, counts that add up, idempotency, updates, XLSX."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.core.reader import read_table
from lianfang.imports.services import import_file
from lianfang.people.models import CommunityStats, Person
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, actor, make_user, rid

HEADER = ["id_type", "id_number", "name", "phone", "community_code", "address", "birth_date", "tags"]
A = rid("350582", "19800101", "123")
B = rid("350582", "19920615", "246")
C = rid("350502", "20210301", "011")


def write_csv(path, rows, header=HEADER, bom=True):
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


# One row per reason, in the order of FORMATS.md, plus three good rows.
ROWS = [
    ["resident_id", A, "陈建国", "13805951234", JJ_COMMUNITY, "桂香花园3栋501", "", "bedridden"],
    ["", B, "林美玲", "+86 139 0595 6789", JJ_COMMUNITY, "", "", "pregnant;卧床"],
    ["居民身份证", C, "王小宝", "", LC_COMMUNITY, "", "", ""],
    ["resident_id", "", "无号码", "", JJ_COMMUNITY, "", "", ""],  # missing_field:id_number
    ["resident_id", rid("350582", "19700101", "111"), "", "", JJ_COMMUNITY, "", "", ""],  # missing_field:name
    [
        "resident_id",
        rid("350582", "19700101", "113"),
        "缺社区",
        "",
        "",
        "",
        "",
        "",
    ],  # missing_field:community_code
    [
        "driver_licence",
        rid("350582", "19700101", "115"),
        "证件类型错",
        "",
        JJ_COMMUNITY,
        "",
        "",
        "",
    ],  # bad_id_type
    [
        "resident_id",
        A[:17] + ("0" if A[17] != "0" else "1"),
        "校验位错",
        "",
        JJ_COMMUNITY,
        "",
        "",
        "",
    ],  # invalid
    ["resident_id", "35058219990230" + "1234", "日期错", "", JJ_COMMUNITY, "", "", ""],  # invalid (30 Feb)
    [
        "resident_id",
        rid("350582", "19700101", "117"),
        "社区错",
        "",
        "350582999999",
        "",
        "",
        "",
    ],  # unknown_community
]
EXPECTED_REASONS = {
    "missing_field:id_number": 1,
    "missing_field:name": 1,
    "missing_field:community_code": 1,
    "bad_id_type": 1,
    "invalid_id_number": 2,
    "unknown_community": 1,
}


def test_every_reason_and_counts(db, tmp_path):
    path = write_csv(tmp_path / "persons.csv", ROWS)
    rejects = tmp_path / "rejects.csv"
    s = import_file(kind="persons", path=path, actor=None, rejects_path=rejects)
    assert s.as_dict() == {
        "read": 10,
        "accepted": 3,
        "duplicate": 0,
        "held": 0,
        "rejected": 7,
        "reasons": dict(sorted(EXPECTED_REASONS.items())),
    }
    assert s.read == s.accepted + s.duplicate + s.held + s.rejected
    with open(rejects, encoding="utf-8-sig") as f:
        back = list(csv.DictReader(f))
    assert [r["reason"] for r in back] == [
        "missing_field:id_number",
        "missing_field:name",
        "missing_field:community_code",
        "bad_id_type",
        "invalid_id_number",
        "invalid_id_number",
        "unknown_community",
    ]
    assert back[0]["name"] == "无号码"  # the original row comes back
    b = Person.objects.get(id_number=B)
    assert b.id_type == "resident_id" and b.phone == "13905956789" and b.tags == "bedridden;pregnant"
    assert (
        b.sex == "F"
        and str(b.birth_date) == "1992-06-15"
        and b.name_pinyin == "linmeiling"
        and b.name_initials == "lml"
    )
    assert CommunityStats.objects.get(community_id=JJ_COMMUNITY).registered == 2


def test_missing_field_names_first_missing_column_in_table_order(db, tmp_path):
    path = write_csv(tmp_path / "p.csv", [["resident_id", "", "", "", "", "", "", ""]])
    s = import_file(kind="persons", path=path, actor=None)
    assert dict(s.reasons) == {"missing_field:id_number": 1}


def test_missing_column_entirely(db, tmp_path):
    path = write_csv(tmp_path / "p.csv", [[A, "陈建国"]], header=["id_number", "name"])
    s = import_file(kind="persons", path=path, actor=None)
    assert dict(s.reasons) == {"missing_field:community_code": 1}


def test_same_file_twice_is_all_duplicate_and_rejects_stay(db, tmp_path):
    path = write_csv(tmp_path / "persons.csv", ROWS)
    import_file(kind="persons", path=path, actor=None)
    again = import_file(kind="persons", path=path, actor=None)
    assert (again.accepted, again.duplicate, again.rejected) == (0, 3, 7)
    assert dict(again.reasons) == EXPECTED_REASONS
    assert Person.objects.count() == 3


def test_update_changes_person_and_is_audited_blank_keeps(db, tmp_path):
    import_file(kind="persons", path=write_csv(tmp_path / "a.csv", ROWS[:1]), actor=None)
    before = Person.objects.get(id_number=A)
    # New phone; blank address and tags leave the stored values.
    row = ["resident_id", A, "陈建国", "13700000000", JJ_COMMUNITY, "", "", ""]
    s = import_file(kind="persons", path=write_csv(tmp_path / "b.csv", [row]), actor=None)
    assert (s.accepted, s.duplicate) == (1, 0)
    after = Person.objects.get(id_number=A)
    assert after.pk == before.pk and after.phone == "13700000000"
    assert after.address == "桂香花园3栋501" and after.tags == "bedridden"
    event = AuditEvent.objects.filter(action="update", object_type="person", object_id=str(after.pk)).get()
    assert event.detail == {"fields": ["phone"]}


def test_repeated_key_in_one_file_applies_in_order(db, tmp_path):
    rows = [ROWS[0], ROWS[0], ["resident_id", A, "陈建国", "13711111111", JJ_COMMUNITY, "", "", ""]]
    s = import_file(kind="persons", path=write_csv(tmp_path / "p.csv", rows), actor=None)
    assert (s.read, s.accepted, s.duplicate) == (3, 2, 1)
    assert Person.objects.get(id_number=A).phone == "13711111111"


def test_lowercase_x_stored_upper(db, tmp_path):
    x = rid("110105", "19491231", "002")
    assert x.endswith("X")
    import_file(
        kind="persons",
        path=write_csv(tmp_path / "p.csv", [["", x.lower(), "赵", "", JJ_COMMUNITY, "", "", ""]]),
        actor=None,
    )
    assert Person.objects.filter(id_number=x).exists()


def test_scoped_import_refuses_other_county(db, tmp_path, county_user):
    rows = [ROWS[0], ROWS[2]]  # Jinjiang and Licheng
    s = import_file(kind="persons", path=write_csv(tmp_path / "p.csv", rows), actor=actor(county_user))
    assert (s.accepted, dict(s.reasons)) == (1, {"unknown_community": 1})
    # A person stored in Licheng cannot be moved into Jinjiang by a Jinjiang user.
    import_file(kind="persons", path=write_csv(tmp_path / "c.csv", [ROWS[2]]), actor=None)
    moved = ["resident_id", C, "王小宝", "", JJ_COMMUNITY, "", "", ""]
    s = import_file(kind="persons", path=write_csv(tmp_path / "m.csv", [moved]), actor=actor(county_user))
    assert dict(s.reasons) == {"out_of_jurisdiction": 1}
    assert Person.objects.get(id_number=C).community_id == LC_COMMUNITY


@pytest.mark.slow
def test_xlsx_10000_rows(db, tmp_path):
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("底数")
    ws.append(HEADER)
    for i in range(10_000):
        ws.append(
            [
                "",
                rid("350582", "19850101", f"{i % 1000:03d}")
                if i < 1000
                else rid("350582", f"1986{1 + i // 1000 % 12:02d}{1 + i // 12000:02d}", f"{i % 1000:03d}"),
                f"测试{i}",
                13800000000 + i,
                JJ_COMMUNITY,
                f"{i}号",
                "",
                "",
            ]
        )
    path = tmp_path / "big.xlsx"
    wb.save(path)
    s = import_file(kind="persons", path=path, actor=None)
    assert s.read == 10_000 and s.rejected == 0 and s.accepted == 10_000
    assert Person.objects.filter(phone="13800009999").exists()  # numeric phone cell read as digits


def test_parquet_same_as_csv(db, tmp_path):
    import pyarrow.parquet as pq

    table = read_table(write_csv(tmp_path / "p.csv", ROWS))
    pq.write_table(table, tmp_path / "p.parquet")
    s = import_file(kind="persons", path=tmp_path / "p.parquet", actor=None)
    assert (s.accepted, s.rejected) == (3, 7)


@pytest.mark.slow
def test_cli_json_summary_and_exit_codes(tmp_path):
    """The operator's path end to end, on a fresh embedded database of its own."""
    import os

    path = write_csv(tmp_path / "persons.csv", ROWS)
    env = {k: v for k, v in os.environ.items() if k != "LIANFANG_DATABASE_URL"}
    env["LIANFANG_DATA_DIR"] = str(tmp_path / "data")
    no_db = subprocess.run(
        [sys.executable, "-m", "lianfang", "import", "persons", str(path), "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert no_db.returncode != 0 and "lianfang init" in no_db.stderr
    init = subprocess.run(
        [sys.executable, "-m", "lianfang", "init"], capture_output=True, text=True, env=env, check=False
    )
    assert init.returncode == 0, init.stderr
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lianfang",
            "import",
            "persons",
            str(path),
            "--json",
            "--rejects",
            str(tmp_path / "r.csv"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["read"] == 10 and summary["rejected"] == 7 and summary["reasons"]["invalid_id_number"] == 2
    bad = subprocess.run(
        [sys.executable, "-m", "lianfang", "import", "persons", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode != 0 and "nope.csv" in bad.stderr


def test_divisions_import_china_division_layout(db, tmp_path):
    path = tmp_path / "towns.csv"
    path.write_text(
        "code,name,areaCode,provinceCode,cityCode\n350582001,青阳街道,350582,35,3505\n"
        "350582998,新街道,350582,35,3505\n350599001,无上级,350599,35,3505\n1234567,坏,1,1,1\n",
        encoding="utf-8",
    )
    from lianfang.geo.services import divisions_import

    rejects: list = []
    s = divisions_import(paths=[path], rejects=rejects)
    assert (s.read, s.accepted, s.duplicate, s.rejected) == (4, 1, 1, 2)
    assert dict(s.reasons) == {"unknown_parent": 1, "bad_code": 1}


def test_slices_give_the_whole_files_outcome(db, tmp_path, monkeypatch):
    """A file goes in slices (memory); a key repeated across slices, rejects and an update of a
    stored person come out exactly as when the whole file is one slice."""
    from django.db import transaction

    from lianfang.people import services

    import_file(kind="persons", path=write_csv(tmp_path / "before.csv", [ROWS[1]]), actor=None)  # B is stored
    D = rid("350582", "19880808", "357")
    rows = [
        ROWS[0],  # A new
        ["resident_id", A, "陈建国", "13800000000", JJ_COMMUNITY, "", "", ""],  # A again, new phone
        ROWS[3],  # missing_field:id_number
        ["resident_id", B, "林美玲", "13911112222", JJ_COMMUNITY, "", "", ""],  # B stored: update
        ROWS[0][:1] + [D, "郑大", "", JJ_COMMUNITY, "", "", ""],
        ["resident_id", D, "郑大", "", JJ_COMMUNITY, "", "", ""],  # D again, unchanged: duplicate
        ["resident_id", B, "林美玲", "13933334444", JJ_COMMUNITY, "", "", ""],  # B again: update
        ROWS[9],  # unknown_community
    ]
    path = write_csv(tmp_path / "p.csv", rows)
    rejects = tmp_path / "rejects.csv"

    def run(chunk):
        monkeypatch.setattr(services, "CHUNK_ROWS", chunk)
        with transaction.atomic():
            audits = AuditEvent.objects.count()
            summary = import_file(kind="persons", path=path, actor=None, rejects_path=rejects)
            people = sorted(Person.objects.values_list("id_number", "name", "phone", "registered"))
            events = sorted(
                (e.action, e.object_type, json.dumps(e.detail, sort_keys=True))
                for e in AuditEvent.objects.order_by("id")[audits:]
            )
            out = (summary.as_dict(), summary.created, summary.updated, people, events, rejects.read_text())
            transaction.set_rollback(True)
        return out

    whole = run(1000)
    assert whole[0]["accepted"] == 5 and (whole[1], whole[2]) == (2, 1)  # A and D created, B updated once
    for chunk in (1, 2, 3):
        assert run(chunk) == whole, chunk


def csv_line(cells: list[str], *, unquoted_tail: str = "") -> str:
    """One CSV record as Excel would write it, then ``unquoted_tail`` as typed by hand."""
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue() + unquoted_tail + "\r\n"


def test_extra_cells_rejected_before_every_other_check_and_nothing_stored(db, tmp_path):
    d = rid("350582", "19850505", "357")
    lines = [
        csv_line(HEADER),
        # A quoted comma (and the BOM before the header) is not an extra cell.
        csv_line(["resident_id", A, "陈建国", "", JJ_COMMUNITY, "桂香花园,3栋501", "", ""]),
        # An unquoted comma in the address shifts the row by one cell.
        csv_line(
            ["resident_id", B, "林美玲", "", JJ_COMMUNITY], unquoted_tail=",福建省,晋江市,1992-06-15,pregnant"
        ),
        csv_line(["resident_id", C, "王小宝", "", LC_COMMUNITY, "鲤城", "", ""], unquoted_tail=",extra"),
        # No name either: extra_cells comes first.
        csv_line(
            ["resident_id", rid("350582", "19700101", "111"), "", "", JJ_COMMUNITY, "", "", ""],
            unquoted_tail=",",
        ),
        csv_line(["resident_id", d, "郑海", "", JJ_COMMUNITY, "", "", ""]),
        csv_line(["resident_id", rid("350582", "19700101", "113"), "", "", JJ_COMMUNITY, "", "", ""]),
    ]
    path = tmp_path / "shifted.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode())
    rejects = tmp_path / "rejects.csv"

    calls: list = []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))

    for _ in range(2):  # the same file again: the same rejections, the good rows duplicate
        s = import_file(kind="persons", path=path, actor=None, rejects_path=rejects, progress=progress)
        assert s.read == 6 == s.accepted + s.duplicate + s.held + s.rejected
        assert calls[-1] == (6, 6)  # the web job's progress counts the shifted rows as done
        assert dict(s.reasons) == {"extra_cells": 3, "missing_field:name": 1}
        with open(rejects, encoding="utf-8-sig") as f:
            back = list(csv.DictReader(f))
        assert [(r["id_number"], r["reason"]) for r in back] == [
            (B, "extra_cells"),
            (C, "extra_cells"),
            (rid("350582", "19700101", "111"), "extra_cells"),
            (rid("350582", "19700101", "113"), "missing_field:name"),
        ]
    assert (s.accepted, s.duplicate) == (0, 2)
    # The rejects file holds every cell of the shifted rows: the header's columns, then the surplus.
    assert (back[0]["address"], back[0]["birth_date"], back[0]["tags"], back[0]["EXTRA_CELLS"]) == (
        "福建省",
        "晋江市",
        "1992-06-15",
        "pregnant",
    )
    assert back[1]["EXTRA_CELLS"] == "extra" and back[3]["EXTRA_CELLS"] == ""
    assert sorted(Person.objects.values_list("id_number", flat=True)) == sorted([A, d])
    assert Person.objects.get(id_number=A).address == "桂香花园,3栋501"


def test_a_file_of_only_shifted_rows_stores_nothing(db, tmp_path):
    path = tmp_path / "all.csv"
    path.write_text(
        csv_line(HEADER)
        + csv_line(["resident_id", A, "陈建国", "", JJ_COMMUNITY, "a", "", ""], unquoted_tail=",b"),
        encoding="utf-8",
    )
    s = import_file(kind="persons", path=path, actor=None)
    assert s.as_dict() == {
        "read": 1,
        "accepted": 0,
        "duplicate": 0,
        "held": 0,
        "rejected": 1,
        "reasons": {"extra_cells": 1},
    }
    assert not Person.objects.exists()


def test_divisions_import_rejects_extra_cells_first(db, tmp_path):
    path = tmp_path / "towns.csv"
    path.write_text(
        'code,name\n350582998,新街道\n350582997,坏,街道\n,空,\n350582996,"引号,街道"\n', encoding="utf-8"
    )
    from lianfang.geo.models import Division
    from lianfang.geo.services import divisions_import_files

    s = divisions_import_files(paths=[path], rejects_path=tmp_path / "rejects.csv")
    assert (s.read, s.accepted, s.rejected) == (4, 2, 2)
    assert dict(s.reasons) == {"extra_cells": 2}
    assert not Division.objects.filter(code="350582997").exists()
    assert Division.objects.get(code="350582996").name == "引号,街道"
    with open(tmp_path / "rejects.csv", encoding="utf-8-sig") as f:
        back = list(csv.DictReader(f))
    assert [(r["code"], r["name"], r["EXTRA_CELLS"], r["reason"]) for r in back] == [
        ("350582997", "坏", "街道", "extra_cells"),
        ("", "空", "", "extra_cells"),
    ]


def test_the_registry_import_checks_the_role_itself(db, tmp_path):
    """The service refuses a role without ``persons.import`` whichever edge calls it."""
    from lianfang.core.errors import Refused

    volunteer = make_user("vol_import", Role.VOLUNTEER, [JJ_COMMUNITY])
    path = write_csv(tmp_path / "p.csv", ROWS[:1])
    with pytest.raises(Refused, match="your role may not do this"):
        import_file(kind="persons", path=path, actor=actor(volunteer))
    assert not Person.objects.exists()


def test_an_upload_whose_user_lost_the_right_fails_with_the_reason(db, tmp_path, settings):
    """A job queued by a grid worker who is a volunteer by the time it runs fails with a clear message."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from lianfang.imports.models import JobStatus
    from lianfang.imports.services import import_job_create, import_job_run

    settings.MEDIA_ROOT = str(tmp_path)
    grid = make_user("grid_import", Role.COMMUNITY_WORKER, [JJ_COMMUNITY])
    content = write_csv(tmp_path / "p.csv", ROWS[:1]).read_bytes()
    # The test's transaction holds the queued task back (on_commit): the job waits, as for a worker.
    job = import_job_create(actor=actor(grid), uploaded_file=SimpleUploadedFile("p.csv", content))
    grid.role = Role.VOLUNTEER
    grid.save(update_fields=["role"])
    import_job_run(job_id=str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "your role may not do this" in job.error
    assert not Person.objects.exists()
