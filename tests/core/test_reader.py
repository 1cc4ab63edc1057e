"""Tests for lianfang.core.reader (pure pyarrow/openpyxl; no Django needed)."""

# Spreadsheet cells and Parquet timestamps here are naive on purpose, as in users' files.
# ruff: noqa: DTZ001

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time
import zipfile

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lianfang.core.reader import (
    EXTRA_CELLS,
    EXTRA_COLUMN,
    ImportFileError,
    detect_format,
    extra_cells,
    read_table,
    to_csv_bytes,
    write_rejects,
)
from lianfang.core.reader import csv as reader_csv

BOM = b"\xef\xbb\xbf"


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def assert_all_strings(table: pa.Table) -> None:
    for field in table.schema:
        assert field.type == pa.string(), field
    for column in table.columns:
        assert column.null_count == 0


def rows(table: pa.Table) -> list[tuple[str, ...]]:
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True))


def both_csv_paths(path) -> tuple[pa.Table, pa.Table]:
    """The Arrow fast path (None if it hands over) and the csv-module fallback."""
    raw = reader_csv._csv_header(path)
    names = reader_csv._header(raw, "csv")
    try:
        fast = reader_csv._read_csv_arrow(path, names, len(raw))
    except reader_csv._FallBack:
        fast = None
    return fast, reader_csv._read_csv_python(path, names, len(raw))


# --------------------------------------------------------------------------- CSV


def test_bom_and_no_bom_give_identical_tables(tmp_path):
    text = "姓名,手机号\n张三,13812345678\n李四,13900000000\n"
    plain = read_table(write(tmp_path, "plain.csv", text))
    with_bom = read_table(write(tmp_path, "bom.csv", BOM + text.encode()))
    assert with_bom.equals(plain)
    assert with_bom.column_names == ["姓名", "手机号"]
    assert rows(plain) == [("张三", "13812345678"), ("李四", "13900000000")]
    assert_all_strings(plain)


def test_header_names_are_stripped_lowercased_and_bom_free(tmp_path):
    table = read_table(write(tmp_path, "h.csv", BOM + " Name ,PHONE\u3000, Id_Number\n a,b,c\n".encode()))
    assert table.column_names == ["name", "phone", "id_number"]


def test_stray_boms_in_header_names_are_removed(tmp_path):
    # a BOM written twice (files concatenated by a script) survives the decoder
    csv_table = read_table(write(tmp_path, "2bom.csv", BOM + BOM + b"Name,phone\nx,1\n"))
    assert csv_table.column_names == ["name", "phone"]
    pq.write_table(pa.table({"\ufeffName": ["x"]}), tmp_path / "bom.parquet")
    assert read_table(tmp_path / "bom.parquet").column_names == ["name"]


def test_column_order_is_free(tmp_path):
    a = read_table(write(tmp_path, "a.csv", "name,phone\nx,1\ny,2\n"))
    b = read_table(write(tmp_path, "b.csv", "phone,name\n1,x\n2,y\n"))
    assert b.column_names == ["phone", "name"]  # file order is kept ...
    assert b.select(["name", "phone"]).equals(a)  # ... and the values follow the names


def test_unknown_columns_are_kept_in_file_order(tmp_path):
    table = read_table(write(tmp_path, "u.csv", "name,备注,phone,whatever\nx,留观,1,?\n"))
    assert table.column_names == ["name", "备注", "phone", "whatever"]
    assert rows(table) == [("x", "留观", "1", "?")]


def test_values_are_stripped_and_empty_cells_are_empty_strings(tmp_path):
    table = read_table(write(tmp_path, "w.csv", 'a,b,c\n  x ,"  y  ",\n\u3000张三\u00a0,\t,"  "\n'))
    assert rows(table) == [("x", "y", ""), ("张三", "", "")]
    assert_all_strings(table)


def test_values_are_text_exactly_as_in_the_file(tmp_path):
    table = read_table(write(tmp_path, "t.csv", "id,phone,n,flag,d\n0011,+86 138,1e5,true,2022-04-01\n"))
    assert rows(table) == [("0011", "+86 138", "1e5", "true", "2022-04-01")]
    assert_all_strings(table)


def test_chinese_values(tmp_path):
    text = "姓名,地址\n欧阳娜娜,北京市朝阳区望京街道\n𠮷野家,上海市\n"
    table = read_table(write(tmp_path, "zh.csv", text))
    assert rows(table) == [("欧阳娜娜", "北京市朝阳区望京街道"), ("𠮷野家", "上海市")]


def test_quoted_commas_newlines_and_doubled_quotes(tmp_path):
    text = 'name,address,note\n"张, 三","北京市\n朝阳区","他说""你好"""\nb,c,d\n'
    table = read_table(write(tmp_path, "q.csv", text))
    assert rows(table) == [("张, 三", "北京市\n朝阳区", '他说"你好"'), ("b", "c", "d")]


def test_crlf_line_endings(tmp_path):
    table = read_table(write(tmp_path, "crlf.csv", "a,b\r\n1,2\r\n3,4\r\n"))
    assert rows(table) == [("1", "2"), ("3", "4")]


def test_header_only_gives_empty_table(tmp_path):
    table = read_table(write(tmp_path, "h.csv", "name,phone\n"))
    assert table.num_rows == 0
    assert table.column_names == ["name", "phone"]
    assert_all_strings(table)


def test_short_rows_are_padded(tmp_path):
    table = read_table(write(tmp_path, "short.csv", "a,b,c\n1,2,3\n4\n5,6\n7,8,9\n"))
    assert rows(table) == [("1", "2", "3"), ("4", "", ""), ("5", "6", ""), ("7", "8", "9")]
    assert EXTRA_COLUMN not in table.column_names and EXTRA_CELLS not in table.column_names
    assert extra_cells(table) is None  # fewer cells are not extra cells
    assert_all_strings(table)


def test_long_rows_keep_their_surplus_and_are_marked_extra_cells(tmp_path):
    # an unquoted comma in the address shifts the row: marked, and the surplus is not lost
    text = "name,address,phone\nx,北京市,朝阳区,13800000000\ny,上海,139\nz,a,b, , \n"
    table = read_table(write(tmp_path, "long.csv", text))
    assert table.column_names == ["name", "address", "phone", EXTRA_CELLS]
    assert rows(table) == [
        ("x", "北京市", "朝阳区", "13800000000"),
        ("y", "上海", "139", None),  # a row that fits has no surplus at all
        ("z", "a", "b", ""),  # empty surplus cells: still more cells than the header
    ]
    assert extra_cells(table).to_pylist() == [True, False, True]


def test_a_trailing_comma_is_one_cell_too_many(tmp_path):
    table = read_table(write(tmp_path, "trailing.csv", "a,b\n1,2,\n3,4\n5,6,,\n"))
    assert table.column_names == ["a", "b", EXTRA_CELLS]
    assert rows(table) == [("1", "2", ""), ("3", "4", None), ("5", "6", "")]
    assert extra_cells(table).to_pylist() == [True, False, True]


def test_quoted_commas_and_a_bom_are_not_extra_cells(tmp_path):
    text = '\ufeffname,address,phone\n张三,"福建省,晋江市",138\n李四,"a ""b"", c",\n'
    table = read_table(write(tmp_path, "quoted.csv", text))
    assert table.column_names == ["name", "address", "phone"]
    assert rows(table) == [("张三", "福建省,晋江市", "138"), ("李四", 'a "b", c', "")]
    assert extra_cells(table) is None


def test_trailing_empty_rows_with_extra_commas_are_not_rows(tmp_path):
    table = read_table(write(tmp_path, "tail.csv", "a,b\n1,2\n,,,\n , , ,\n"))
    assert table.column_names == ["a", "b"]
    assert rows(table) == [("1", "2")]


def test_surplus_is_csv_joined_so_it_stays_unambiguous(tmp_path):
    table = read_table(write(tmp_path, "j.csv", 'a\n1,"x,y", z\n'))
    assert table.column(EXTRA_CELLS).to_pylist() == ['"x,y",z']


def test_the_extra_cells_column_cannot_clash_with_a_header(tmp_path):
    text = "a,extra_cells,_extra\n1,2,3,4\n"
    table = read_table(write(tmp_path, "names.csv", text))
    assert table.column_names == ["a", "extra_cells", "_extra", EXTRA_CELLS]
    assert rows(table) == [("1", "2", "3", "4")]


def test_trailing_unnamed_header_cells_are_not_columns(tmp_path):
    empty_data = read_table(write(tmp_path, "e.csv", "a,b,,\n1,2,,\n"))
    assert empty_data.column_names == ["a", "b"]
    with_data = read_table(write(tmp_path, "d.csv", "a,b,\n1,2,note\n3,4,\n"))
    # a cell under an unnamed header cell is an unnamed column, not one cell too many
    assert with_data.column_names == ["a", "b", EXTRA_COLUMN]
    assert rows(with_data) == [("1", "2", "note"), ("3", "4", "")]
    assert extra_cells(with_data) is None


def test_blank_and_empty_rows_inside_are_kept_trailing_ones_dropped(tmp_path):
    text = "a,b\n1,2\n\n,\n3,4\n,\n\n , \n"
    table = read_table(write(tmp_path, "blank.csv", text))
    assert rows(table) == [("1", "2"), ("", ""), ("", ""), ("3", "4")]


def test_no_row_is_dropped_in_a_large_irregular_file(tmp_path):
    lines = ["a,b,c"]
    for i in range(5000):
        lines.append([f"{i},x,y", f"{i}", f"{i},x,y,z", f'{i},"multi\nline",y'][i % 4])
    path = write(tmp_path, "many.csv", "\n".join(lines) + "\n")
    table = read_table(path)
    assert table.num_rows == 5000
    assert table.column("a").to_pylist() == [str(i) for i in range(5000)]
    assert table.column(EXTRA_CELLS).to_pylist()[2::4] == ["z"] * 1250
    assert extra_cells(table).to_pylist() == [i % 4 == 2 for i in range(5000)]
    fast, slow = both_csv_paths(path)
    assert fast is not None and fast.equals(slow) and table.equals(slow)


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2\n3,4\n",
        'a,b\n"x,\ny",2\n"he said ""hi""",\n',
        "a,b,\n1,2,\n3,4,5\n",
        "a,b\n1,2\n\n3,4\n,\n\n",
        "a,b\r\n 1 ,\t2\r\n",
        'a,b\nab""cd,"ef"gh\n',
    ],
)
def test_fast_path_and_fallback_build_the_same_table(tmp_path, text):
    path = write(tmp_path, "same.csv", BOM + text.encode())
    fast, slow = both_csv_paths(path)
    assert fast is not None
    assert fast.equals(slow)
    assert read_table(path).equals(slow)


def test_records_of_another_width_are_put_back_in_place_on_the_fast_path(tmp_path):
    path = write(tmp_path, "bad.csv", 'a,b,c\n1,2,3\n4,5\n"x\ny",2,3\n6,7,8,9\n10,11,12\n')
    fast, slow = both_csv_paths(path)
    assert fast is not None  # pyarrow skips them, the reader pads / marks them in their place
    assert fast.equals(slow) and read_table(path).equals(slow)
    assert rows(slow) == [
        ("1", "2", "3", None),
        ("4", "5", "", None),
        ("x\ny", "2", "3", None),
        ("6", "7", "8", "9"),
        ("10", "11", "12", None),
    ]


def test_too_many_irregular_records_hand_over_to_the_csv_module(tmp_path, monkeypatch):
    monkeypatch.setattr(reader_csv, "_MAX_IRREGULAR", 2)
    path = write(tmp_path, "many.csv", "a,b\n1\n2,x,y\n3\n4,5\n")
    fast, slow = both_csv_paths(path)
    assert fast is None
    assert read_table(path).equals(slow)
    assert rows(slow) == [("1", "", None), ("2", "x", "y"), ("3", "", None), ("4", "5", None)]


def test_not_utf8_is_rejected_with_save_as_hint_in_both_languages(tmp_path):
    path = write(tmp_path, "gbk.csv", "姓名,手机号\n张三,13812345678\n".encode("gbk"))
    with pytest.raises(ImportFileError) as info:
        read_table(path)
    err = info.value
    assert err.code == "not_utf8"
    assert "CSV UTF-8" in err.message_zh and "另存为" in err.message_zh
    assert "CSV UTF-8" in err.message_en and "Save As" in err.message_en
    assert str(err) == f"{err.message_zh} / {err.message_en}"
    assert "第 1 行" in err.message_zh and "line 1" in err.message_en


def test_not_utf8_deep_in_the_file_names_the_line(tmp_path):
    data = ("a,b\n" + "x,y\n" * 100).encode() + "张三,1\n".encode("gbk")
    with pytest.raises(ImportFileError) as info:
        read_table(write(tmp_path, "late.csv", data))
    assert info.value.code == "not_utf8"
    assert "line 102" in info.value.message_en


@pytest.mark.parametrize("data", [b"", BOM, b"\n", b"\n\nname,phone\n", b" , ,\n1,2\n"])
def test_empty_file_or_empty_first_row_is_no_header(tmp_path, data):
    with pytest.raises(ImportFileError) as info:
        read_table(write(tmp_path, "empty.csv", data))
    assert info.value.code == "no_header"


@pytest.mark.parametrize("header", ["name,phone,name", "Name,phone, NAME "])
def test_duplicate_header_is_rejected_naming_the_column(tmp_path, header):
    with pytest.raises(ImportFileError) as info:
        read_table(write(tmp_path, "dup.csv", header + "\n1,2,3\n"))
    assert info.value.code == "duplicate_column"
    assert "name" in info.value.message_en and "name" in info.value.message_zh


def test_unnamed_column_with_data_is_rejected(tmp_path):
    with pytest.raises(ImportFileError) as info:
        read_table(write(tmp_path, "gap.csv", "name,,phone\n1,,3\n4,5,6\n"))
    assert info.value.code == "empty_header"
    assert "Column 2" in info.value.message_en and "第 2 列" in info.value.message_zh


def test_unnamed_spacer_column_without_data_is_dropped(tmp_path):
    table = read_table(write(tmp_path, "spacer.csv", "name,,phone\n1, ,3\n4,,6\n"))
    assert table.column_names == ["name", "phone"]
    assert rows(table) == [("1", "3"), ("4", "6")]


def test_reserved_extra_column_name_clashes_only_when_needed(tmp_path):
    ok = read_table(write(tmp_path, "ok.csv", "a,_extra\n1,2\n"))
    assert ok.column_names == ["a", "_extra"]
    with pytest.raises(ImportFileError) as info:
        read_table(write(tmp_path, "clash.csv", "a,_extra,\n1,2,3\n"))
    assert info.value.code == "duplicate_column"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('a,b\n1,2\n3,"x\n4,5\n', 3),  # pyarrow alone would silently merge the last rows
        ('a,b\n1,2\n3,4\n"x,5', 4),
        ('a,"b\n1,2\n', 1),
    ],
)
def test_quote_left_open_is_an_error_not_a_merged_row(tmp_path, text, line):
    with pytest.raises(ImportFileError) as info:
        read_table(write(tmp_path, "open.csv", text))
    assert info.value.code == "unclosed_quote"
    assert f"line {line}" in info.value.message_en


def test_odd_quote_count_without_open_quote_still_reads(tmp_path):
    table = read_table(write(tmp_path, "odd.csv", 'a,b\n5"2,x\n"y",z\n'))
    assert rows(table) == [('5"2', "x"), ("y", "z")]


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(ImportFileError) as info:
        read_table(tmp_path / "nope.csv")
    assert info.value.code == "unreadable"


# --------------------------------------------------------------------------- XLSX


def make_xlsx(path, header, data_rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in data_rows:
        ws.append(row)
    wb.save(path)
    return path


def test_xlsx_values_become_the_strings_a_user_expects(tmp_path):
    path = make_xlsx(
        tmp_path / "people.xlsx",
        [" Name", "Phone", "ID", "Birth", "Reported", "Score", "Flag", "Note"],
        [
            [
                "张三",
                13812345678,
                "110101199001011234",
                dt.date(1990, 1, 2),
                dt.datetime(2022, 4, 1, 8, 30, 5),
                1.5,
                True,
                None,
            ],
            [
                " 李四 ",
                13812345678.0,
                1.1010119900101123e17,
                dt.datetime(1990, 1, 2),
                dt.datetime(2022, 4, 2, 0, 0),
                2.0,
                False,
                "  ",
            ],
            [None, None, None, None, None, None, None, None],  # interior empty row: kept
            [
                "王五",
                "+86 139",
                12,
                "1990-03-04",
                dt.datetime(2022, 4, 3, 23, 59, 59, 600000),
                0.00001,
                None,
                "x",
            ],
            [None] * 8,  # trailing empty rows: dropped
            [None] * 8,
        ],
    )
    ws = openpyxl.load_workbook(path)
    ws.active["C20"] = None  # formatted-but-empty cell further down
    ws.save(path)
    table = read_table(path)
    assert table.column_names == ["name", "phone", "id", "birth", "reported", "score", "flag", "note"]
    assert rows(table) == [
        ("张三", "13812345678", "110101199001011234", "1990-01-02", "2022-04-01 08:30:05", "1.5", "TRUE", ""),
        ("李四", "13812345678", "110101199001011200", "1990-01-02", "2022-04-02 00:00:00", "2", "FALSE", ""),
        ("", "", "", "", "", "", "", ""),
        ("王五", "+86 139", "12", "1990-03-04", "2022-04-04 00:00:00", "0.00001", "", "x"),
    ]
    assert_all_strings(table)


def test_xlsx_cells_beyond_the_header_and_short_rows(tmp_path):
    path = make_xlsx(tmp_path / "w.xlsx", ["a", "b", None], [["1"], ["2", "3", None, "extra"], ["4", "5"]])
    table = read_table(path)
    assert table.column_names == ["a", "b", EXTRA_COLUMN]
    assert rows(table) == [("1", "", ""), ("2", "3", ",extra"), ("4", "5", "")]


def test_xlsx_with_a_wrong_dimension_tag_is_read_completely(tmp_path):
    # some generators write <dimension ref="A1"/>; openpyxl's read-only mode would trust it
    make_xlsx(tmp_path / "ok.xlsx", ["a", "b", "c"], [[1, 2, 3], [4, 5, 6]])
    with zipfile.ZipFile(tmp_path / "ok.xlsx") as zin, zipfile.ZipFile(tmp_path / "dim.xlsx", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:A1"/>', data)
                assert count == 1
            zout.writestr(item, data)
    assert read_table(tmp_path / "dim.xlsx").to_pydict() == {
        "a": ["1", "4"],
        "b": ["2", "5"],
        "c": ["3", "6"],
    }


def test_xlsx_uses_the_first_sheet(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["first"])
    wb.active.append(["a"])
    other = wb.create_sheet("other")
    other.append(["second"])
    wb.active = 1
    wb.save(tmp_path / "two.xlsx")
    assert read_table(tmp_path / "two.xlsx").to_pydict() == {"first": ["a"]}


def test_xlsx_empty_sheet_and_bad_header(tmp_path):
    openpyxl.Workbook().save(tmp_path / "empty.xlsx")
    with pytest.raises(ImportFileError) as info:
        read_table(tmp_path / "empty.xlsx")
    assert info.value.code == "no_header"
    make_xlsx(tmp_path / "dup.xlsx", ["Phone", "phone"], [["1", "2"]])
    with pytest.raises(ImportFileError) as info:
        read_table(tmp_path / "dup.xlsx")
    assert info.value.code == "duplicate_column"
    assert "(B)" in info.value.message_en  # Excel column letter
    make_xlsx(tmp_path / "gap.xlsx", [None, "a", "c"], [["1", "2", "3"]])
    with pytest.raises(ImportFileError) as info:
        read_table(tmp_path / "gap.xlsx")
    assert info.value.code == "empty_header"
    assert "(A)" in info.value.message_en


def test_broken_xlsx_is_unreadable(tmp_path):
    path = write(tmp_path, "broken.xlsx", b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ImportFileError) as info:
        read_table(path)
    assert info.value.code == "unreadable"


def test_xlsx_10000_rows_reads_quickly(tmp_path):
    data = [
        [f"人{i}", 13800000000 + i, dt.date(1990, 1, 1 + i % 28), f"地址{i}", i % 7] for i in range(10_000)
    ]
    path = make_xlsx(tmp_path / "big.xlsx", ["name", "phone", "birth", "address", "n"], data)
    start = time.perf_counter()
    table = read_table(path)
    elapsed = time.perf_counter() - start
    assert table.num_rows == 10_000
    assert table.column("phone")[9_999].as_py() == "13800009999"
    assert elapsed < 5, elapsed


# --------------------------------------------------------------------------- Parquet


def test_parquet_columns_become_strings(tmp_path):
    source = pa.table(
        {
            "Name": ["张三", None],
            "Age": pa.array([30, None], pa.int64()),
            "Birth": pa.array([dt.date(1990, 1, 2), None], pa.date32()),
            "Reported": pa.array(
                [dt.datetime(2022, 4, 1, 8, 30, 5), dt.datetime(2022, 4, 2)], pa.timestamp("us")
            ),
            "Phone": [13812345678.0, 1.5],
            "Flag": [True, None],
            "District": pa.array(["朝阳区", "朝阳区"]).dictionary_encode(),
        }
    )
    pq.write_table(source, tmp_path / "p.parquet")
    table = read_table(tmp_path / "p.parquet")
    assert table.column_names == ["name", "age", "birth", "reported", "phone", "flag", "district"]
    assert rows(table) == [
        ("张三", "30", "1990-01-02", "2022-04-01 08:30:05", "13812345678", "TRUE", "朝阳区"),
        ("", "", "", "2022-04-02", "1.5", "", "朝阳区"),
    ]
    assert_all_strings(table)


def test_parquet_nested_columns_are_kept_as_json_text(tmp_path):
    pq.write_table(pa.table({"name": ["x", "y"], "tags": [["密接", "发热"], None]}), tmp_path / "n.parquet")
    table = read_table(tmp_path / "n.parquet")
    assert rows(table) == [("x", '["密接", "发热"]'), ("y", "")]
    assert_all_strings(table)


def test_parquet_duplicate_after_normalisation(tmp_path):
    pq.write_table(
        pa.table([pa.array(["1"]), pa.array(["2"])], names=["Phone", "phone "]), tmp_path / "d.parquet"
    )
    with pytest.raises(ImportFileError) as info:
        read_table(tmp_path / "d.parquet")
    assert info.value.code == "duplicate_column"


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.csv", "csv"), ("A.CSV", "csv"), ("a.txt", "csv"), ("a.xlsx", "xlsx"), ("a.parquet", "parquet")],
)
def test_detect_format_by_extension(tmp_path, name, expected):
    assert detect_format(write(tmp_path, name, "x,y\n")) == expected


def test_detect_format_by_declared_name_or_format(tmp_path):
    path = write(tmp_path, "upload_tmp", "x,y\n")
    assert detect_format(path, "人员名单.XLSX") == "xlsx"
    assert detect_format(path, "parquet") == "parquet"
    assert detect_format(path, ".csv") == "csv"


def test_detect_format_by_magic_bytes(tmp_path):
    make_xlsx(tmp_path / "x.xlsx", ["a"], [["1"]])
    pq.write_table(pa.table({"a": [1]}), tmp_path / "p.parquet")
    no_ext_xlsx = write(tmp_path, "upload1", (tmp_path / "x.xlsx").read_bytes())
    no_ext_parquet = write(tmp_path, "upload2", (tmp_path / "p.parquet").read_bytes())
    no_ext_text = write(tmp_path, "upload3", "a,b\n1,2\n")
    assert detect_format(no_ext_xlsx) == "xlsx"
    assert detect_format(no_ext_parquet) == "parquet"
    assert detect_format(no_ext_text) == "csv"
    # an unknown extension is fine if the magic bytes say what it is
    assert detect_format(no_ext_xlsx, "export.dat") == "xlsx"
    # a workbook renamed to .csv is still read as a workbook
    renamed = write(tmp_path, "renamed.csv", (tmp_path / "x.xlsx").read_bytes())
    assert detect_format(renamed) == "xlsx"
    assert read_table(renamed).to_pydict() == {"a": ["1"]}
    assert read_table(no_ext_parquet).to_pydict() == {"a": ["1"]}


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.dat", b"a,b\n1,2\n"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
        ("noext", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
    ],
)
def test_detect_format_unknown(tmp_path, name, data):
    with pytest.raises(ImportFileError) as info:
        detect_format(write(tmp_path, name, data))
    assert info.value.code == "unknown_format"
    assert info.value.message_zh and info.value.message_en


def test_read_table_with_explicit_format_ignores_extension(tmp_path):
    path = write(tmp_path, "data.bin", "a\n1\n")
    assert read_table(path, fmt="csv").to_pydict() == {"a": ["1"]}


# --------------------------------------------------------------------------- rejects


def test_write_rejects_round_trip(tmp_path):
    source = read_table(write(tmp_path, "in.csv", 'Name,phone,备注\n张三,123,"a, b"\n李四,,"多\n行"\n'))
    out = tmp_path / "rejects.csv"
    write_rejects(out, source, ["手机号格式错误", "缺少手机号"])
    data = out.read_bytes()
    assert data.startswith(BOM)
    assert data.decode("utf-8-sig").splitlines()[0] == "name,phone,备注,reason"
    back = read_table(out)
    assert back.column_names == ["name", "phone", "备注", "reason"]
    assert rows(back) == [("张三", "123", "a, b", "手机号格式错误"), ("李四", "", "多\n行", "缺少手机号")]


def test_write_rejects_header_only_when_no_rows(tmp_path):
    out = tmp_path / "none.csv"
    write_rejects(out, pa.table({"name": pa.array([], pa.string()), "phone": pa.array([], pa.string())}), [])
    data = out.read_bytes()
    assert data.startswith(BOM)
    assert data.decode("utf-8-sig").strip() == "name,phone,reason"
    assert read_table(out).num_rows == 0


def test_write_rejects_replaces_an_existing_reason_column_and_accepts_arrow(tmp_path):
    source = pa.table({"name": ["x"], "Reason": ["old"], "n": pa.array([7], pa.int64())})
    out = tmp_path / "again.csv"
    write_rejects(out, source, pa.array(["new"]))
    back = read_table(out)
    assert back.column_names == ["name", "n", "reason"]
    assert rows(back) == [("x", "7", "new")]


def test_write_rejects_checks_lengths(tmp_path):
    with pytest.raises(ValueError):
        write_rejects(tmp_path / "x.csv", pa.table({"a": ["1", "2"]}), ["only one"])


def test_to_csv_bytes():
    table = pa.table({"名字": ["张三", None], "n": pa.array([1, 2])})
    data = to_csv_bytes(table)
    assert data == BOM + "名字,n\r\n张三,1\r\n,2\r\n".encode()
    assert to_csv_bytes(table, bom=False).startswith("名字".encode())


# --------------------------------------------------------------------------- misc


def test_error_str_has_both_languages():
    err = ImportFileError("x", "中文", "English")
    assert (err.code, err.message_zh, err.message_en) == ("x", "中文", "English")
    assert str(err) == "中文 / English"


def test_module_does_not_import_django():
    code = (
        "import sys, lianfang.core.reader; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
