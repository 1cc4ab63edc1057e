"""Imports without a manual: Chinese column labels beside the English codes (declared once, per
kind, in the importer's columns), a template per kind that imports as downloaded, the allowed
values on the upload page, every rejection reason in words with what to fix."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from lianfang.core import plugins
from lianfang.core.reader import ImportFileError, read_table
from lianfang.core.summary import reason_fix, registered_reasons
from lianfang.imports.guide import columns_of, import_guide, import_template
from lianfang.imports.services import import_file
from lianfang.people.models import Person
from tests.conftest import JJ_COMMUNITY, actor, logged_in, rid

ID1, ID2 = rid("350582", "19800101", "311"), rid("350582", "19800101", "312")
KINDS_WITH_COLUMNS = ("persons", "sites", "labs", "samples", "results")


def test_every_file_kind_declares_a_chinese_label_for_every_column():
    for kind in KINDS_WITH_COLUMNS:
        columns = columns_of(kind)
        assert columns, kind
        unlabelled = [code for code, rule in columns.items() if not rule.label]
        assert not unlabelled, f"{kind}: columns without a Chinese label: {unlabelled}"
        labels = [rule.label for rule in columns.values()]
        assert len(set(labels)) == len(labels), f"{kind}: two columns share a label"


def test_chinese_headers_import_like_the_codes(tmp_path, county_user):
    path = tmp_path / "persons.csv"
    path.write_text(
        "证件号码,姓名,社区代码,重点人群标签,unknown\n"
        f"{ID1},陈甲,{JJ_COMMUNITY},独居老人,x\n"
        f"{ID2},陈乙,{JJ_COMMUNITY},,y\n",
        encoding="utf-8-sig",
    )
    summary = import_file(kind="persons", path=path, actor=actor(county_user))
    assert (summary.read, summary.accepted, summary.rejected) == (2, 2, 0)
    assert Person.objects.get(id_number=ID1).tags == "elderly_alone"


def test_a_missing_labelled_column_is_named_by_its_code(tmp_path, county_user):
    path = tmp_path / "persons.csv"
    path.write_text(f"证件号码,社区代码\n{ID1},{JJ_COMMUNITY}\n", encoding="utf-8")
    summary = import_file(kind="persons", path=path, actor=actor(county_user))
    assert summary.reasons == {"missing_field:name": 1}


def test_label_and_code_of_one_column_together_are_refused(tmp_path):
    path = tmp_path / "persons.csv"
    path.write_text(f"id_number,证件号码,name\n{ID1},{ID2},x\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        read_table(path, columns=columns_of("persons"))
    assert caught.value.code == "duplicate_column" and "证件号码" in caught.value.message_zh


def test_parquet_with_chinese_names_keeps_the_type_rules(tmp_path):
    path = tmp_path / "persons.parquet"
    pq.write_table(pa.table({"证件号码": [ID1], "姓名": ["陈甲"], "出生日期": [1.5]}), path)
    with pytest.raises(ImportFileError) as caught:  # a number where a date belongs
        read_table(path, columns=columns_of("persons"))
    assert caught.value.code == "wrong_type"


def test_the_template_as_downloaded_imports_its_example_row(tmp_path, county_user):
    answer = logged_in(county_user).get("/imports/template/persons.xlsx")
    assert answer.status_code == 200 and answer["Content-Disposition"].endswith('persons.xlsx"')
    book = load_workbook(io.BytesIO(answer.content))
    data = book.worksheets[0]
    header = [c.value for c in data[1]]
    assert header[:3] == ["证件类型", "证件号码", "姓名"]
    assert data.cell(row=2, column=2).data_type == "s"  # the ID number stays text in Excel
    assert "填写说明" in book.sheetnames
    path = tmp_path / "template.xlsx"
    path.write_bytes(answer.content)
    summary = import_file(kind="persons", path=path, actor=actor(county_user), fmt="xlsx")
    # The example community is Jinjiang's: the example row is a valid registry row.
    assert (summary.read, summary.accepted, summary.rejected) == (1, 1, 0), summary.reasons


@pytest.mark.parametrize("kind", KINDS_WITH_COLUMNS)
def test_every_kind_has_a_template_read_back_as_its_codes(kind, tmp_path):
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(import_template(kind))
    table = read_table(path, fmt="xlsx", columns=columns_of(kind))
    assert table.column_names == list(columns_of(kind)) and table.num_rows == 1


def test_unknown_kind_has_no_template(county_user):
    assert logged_in(county_user).get("/imports/template/nope.xlsx").status_code == 404
    assert logged_in(county_user).get("/imports/template/divisions.xlsx").status_code == 404


def test_upload_page_lists_columns_allowed_values_and_the_template(county_user):
    page = logged_in(county_user).get("/people/import/").content.decode()
    assert 'href="/imports/template/persons.xlsx"' in page
    assert "证件号码" in page and "<code>passport</code> 护照" in page and "独居老人" in page


def test_guide_in_english(county_user, settings):
    from django.utils import translation

    with translation.override("en"):
        guide = {c["code"]: c for c in import_guide("results")}
    assert ("negative", "negative") in guide["result"]["allowed"]
    assert guide["reported_at"]["note"].startswith("YYYY-MM-DD")


# The apps of this branch: each of their reasons says what to change. (Apps merged later declare
# their own fixes in Plugin.fixes.)
FIXED_APPS = {"core", "people", "geo", "screening"}


def test_every_reason_says_what_to_fix():
    from lianfang.core.summary import _OWNER

    registered_reasons()
    missing = [code for code, owner in _OWNER.items() if owner in FIXED_APPS and reason_fix(code) is None]
    assert not missing, f"reasons without a fix: {missing}"
    assert plugins.discover()


def test_job_page_shows_reasons_with_label_and_fix(tmp_path, county_user, django_capture_on_commit_callbacks):
    client = logged_in(county_user)
    upload = io.BytesIO(f"证件号码,姓名,社区代码\n{ID1},,{JJ_COMMUNITY}\n123,陈丙,{JJ_COMMUNITY}\n".encode())
    upload.name = "persons.csv"
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/people/import/", {"file": upload})
    page = client.get(answer["Location"]).content.decode()
    assert "缺少必填字段：姓名（name）" in page and "在这一列填上内容" in page
    assert "对照证件核对号码" in page
