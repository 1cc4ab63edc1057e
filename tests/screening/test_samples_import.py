"""`import samples` per FORMATS.md: every reason in order, counts that add up, idempotency, pools, XLSX."""

from __future__ import annotations

import datetime as dt

import pytest

from lianfang.imports.services import import_file
from lianfang.people.models import Person
from lianfang.screening import services
from lianfang.screening.models import Round, Sample, Tube
from tests.conftest import JJ_COMMUNITY, make_person, rid
from tests.screening.helpers import (
    ROUND_START,
    SAMPLE_HEADER,
    Importer,
    read_csv,
    sample,
    setup_world,
    write_csv,
)

A = rid("350582", "19800101", "011")
B = rid("350582", "19811111", "022")
U = rid("350582", "19900101", "555")  # valid, not in the registry
BAD_CHECK = A[:17] + ("0" if A[17] != "0" else "1")
P = [rid("350583", f"197501{d:02d}", "101") for d in range(1, 11)]  # more valid IDs (unregistered)


# (row, expected outcome). Every rejected row carries a second, later problem too: the first reason
# of FORMATS.md's order must win.
ROWS = [
    (sample("T1", A, box="BX1"), "accepted"),
    (sample("T1", B, site="S02", box="BX9", at="2022-03-28 09:05"), "accepted"),
    # The same person in the same tube again, from another site at another time: duplicate.
    (sample("T1", A, site="S02", box="BX9", at="2022-03-28 10:00", name="别名"), "duplicate"),
    (sample("T2", P[0], pool="10.0", id_type="居民身份证"), "accepted"),
    (sample("T2", P[1], pool="10"), "accepted"),  # "10" and "10.0" are the same pool size
    (sample("T2", U, pool="10", name="外来人员"), "accepted"),
    (sample("T2", "E12345678", pool="10", id_type="passport", name="John Smith"), "accepted"),
    (sample("", "", rnd="", pool=""), "missing_field:round_code"),
    (sample("", P[2], pool=""), "missing_field:tube_barcode"),
    (sample("T9", "", pool=""), "missing_field:pool_size"),
    (sample("T9", "", site=""), "missing_field:id_number"),
    (sample("T9", P[2], site="", at=""), "missing_field:site_code"),
    (sample("T9", P[2], at="", id_type="driver_licence"), "missing_field:collected_at"),
    (sample("T9", BAD_CHECK, id_type="driver_licence"), "bad_id_type"),
    (sample("T9", BAD_CHECK, rnd="R404"), "invalid_id_number"),
    (sample("T9", P[2], rnd="R404", site="S404"), "unknown_round"),
    (sample("T9", P[2], rnd="R0", site="S404"), "round_closed"),
    (sample("T9", P[2], site="S404", pool="3"), "unknown_site"),
    (sample("T9", P[2], pool="3", at="yesterday"), "bad_pool_size"),
    (sample("OTHER01", P[2], at="2022-03-28"), "bad_time"),  # a date alone is not a time
    (sample("OTHER01", P[2], pool="10"), "tube_in_other_round"),  # and another pool size
    (sample("T1", P[3], pool="10"), "pool_size_conflict"),
    (sample("T4", P[4], pool="1"), "accepted"),
    (sample("T4", P[5], pool="5"), "pool_size_conflict"),  # not tube_over_capacity
    (sample("T4", P[5], pool="1"), "tube_over_capacity"),
    (sample("T4", P[4], pool="1", site="S02"), "duplicate"),
    (sample("T4", P[5], pool="1"), "tube_over_capacity"),  # the refused person again: still refused
]
# Enough further good rows to take a file past the small-batch path (services.samples.SMALL_BATCH) to the bulk one.
PAD = [
    (sample(f"PAD{i:03d}", rid("350583", (dt.date(1976, 1, 1) + dt.timedelta(days=i)).strftime("%Y%m%d"), "201"),
            pool="1"), "accepted")
    for i in range(230)
]  # fmt: skip
ACCEPTED = sum(o == "accepted" for _, o in ROWS)
DUPLICATE = sum(o == "duplicate" for _, o in ROWS)
REJECTED = [o for _, o in ROWS if o not in ("accepted", "duplicate")]


@pytest.fixture
def prepared(db, tmp_path):
    """Two registered people, a second open round holding tube OTHER01, a closed round R0."""
    setup_world(tmp_path)
    make_person(id_number=A, name="陈建国", phone="13805951234")
    make_person(id_number=B, name="林美玲")
    services.round_open(actor=None, code="R2", name="第二轮", scope=["350582"], starts_at=ROUND_START)
    r0 = services.round_open(actor=None, code="R0", name="已结束", scope=["350582"], starts_at=ROUND_START)
    services.round_close(actor=None, rnd=r0)
    s, _ = Importer(tmp_path)("samples", [sample("OTHER01", A, rnd="R2")], header=SAMPLE_HEADER)
    assert s.accepted == 1
    return tmp_path


@pytest.fixture(params=[0, len(PAD)], ids=["small", "bulk"])
def rows(request):
    """The reasons file as is, and followed by enough good rows to be decided in bulk."""
    return ROWS + PAD[: request.param]


@pytest.fixture(params=[0, len(PAD)], ids=["small", "bulk"])
def pad(request):
    return [r for r, _ in PAD[: request.param]]


def import_rows(path, rejects):
    return import_file(kind="samples", path=path, actor=None, rejects_path=rejects)


def check_outcome(summary, rejects_path, rows):
    assert summary.read == len(rows)
    assert (summary.accepted, summary.duplicate, summary.held, summary.rejected) == (
        ACCEPTED + len(rows) - len(ROWS),
        DUPLICATE,
        0,
        len(REJECTED),
    )
    assert summary.read == summary.accepted + summary.duplicate + summary.held + summary.rejected
    want = {}
    for reason in REJECTED:
        want[reason] = want.get(reason, 0) + 1
    assert dict(summary.reasons) == want
    back = read_csv(rejects_path)
    assert [r["reason"] for r in back] == REJECTED
    # The original rows come back, in file order, with their own values.
    assert [(r["tube_barcode"], r["id_number"], r["pool_size"]) for r in back] == [
        (row["tube_barcode"], row["id_number"], row["pool_size"])
        for row, o in ROWS
        if o not in ("accepted", "duplicate")
    ]


def test_every_reason_in_order_and_counts(prepared, rows):
    path = write_csv(prepared / "samples.csv", SAMPLE_HEADER, [r for r, _ in rows])
    summary = import_rows(path, prepared / "rejects.csv")
    check_outcome(summary, prepared / "rejects.csv", rows)
    assert list(read_csv(prepared / "rejects.csv")[0]) == [*SAMPLE_HEADER, "reason"]

    # What was stored: tubes with the site and box of their first accepted row, one sample per person.
    t1 = Tube.objects.select_related("site").get(barcode="T1")
    assert (t1.site.code, t1.box_code, t1.pool_size, t1.round.code) == ("S01", "BX1", 5, "R1")
    assert t1.first_collected_at == dt.datetime(2022, 3, 28, 1, 0, tzinfo=dt.UTC)
    assert set(t1.samples.values_list("person__id_number", flat=True)) == {A, B}
    a_sample = Sample.objects.get(tube=t1, person__id_number=A)
    assert a_sample.collected_at == dt.datetime(2022, 3, 28, 1, 0, tzinfo=dt.UTC)  # the first row's time
    assert Tube.objects.get(barcode="T2").pool_size == 10
    assert Tube.objects.get(barcode="T4").samples.count() == 1
    assert not Tube.objects.filter(barcode="T9").exists()
    assert Tube.objects.get(barcode="OTHER01").samples.count() == 1  # untouched
    assert Sample.objects.filter(round__code="R1").count() == ACCEPTED + len(rows) - len(ROWS)


def test_unregistered_valid_id_is_accepted_and_created_unregistered(prepared, rows):
    path = write_csv(prepared / "samples.csv", SAMPLE_HEADER, [r for r, _ in rows])
    import_rows(path, None)
    u = Person.objects.get(id_number=U)
    assert (u.registered, u.name, u.community_id) == (False, "外来人员", None)
    assert str(u.birth_date) == "1990-01-01"
    visitor = Person.objects.get(id_type="passport", id_number="E12345678")
    assert (visitor.registered, visitor.name, visitor.birth_date) == (False, "John Smith", None)
    # A registered person stays registered and keeps their name, whatever the row says.
    a = Person.objects.get(id_number=A)
    assert (a.registered, a.name) == (True, "陈建国")
    # Rejected rows create nobody.
    assert not Person.objects.filter(id_number=P[2]).exists()
    assert not Person.objects.filter(id_number=P[5]).exists()


def test_same_file_twice(prepared, rows):
    path = write_csv(prepared / "samples.csv", SAMPLE_HEADER, [r for r, _ in rows])
    first = import_rows(path, prepared / "r1.csv")
    samples, people, tubes = Sample.objects.count(), Person.objects.count(), Tube.objects.count()
    again = import_rows(path, prepared / "r2.csv")
    assert (again.read, again.accepted, again.duplicate, again.held, again.rejected) == (
        len(rows),
        0,
        ACCEPTED + DUPLICATE + len(rows) - len(ROWS),
        0,
        len(REJECTED),
    )
    assert again.reasons == first.reasons
    assert (prepared / "r2.csv").read_bytes() == (prepared / "r1.csv").read_bytes()
    assert (Sample.objects.count(), Person.objects.count(), Tube.objects.count()) == (samples, people, tubes)


def test_xlsx_gives_the_same_outcome(prepared, rows):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(SAMPLE_HEADER)
    for row, _ in rows:
        cells = [row[c] for c in SAMPLE_HEADER]
        # Numbers and times as spreadsheet cells where a sampling app's export would have them.
        pool = row["pool_size"]
        if pool.replace(".", "").isdigit():
            cells[SAMPLE_HEADER.index("pool_size")] = float(pool) if "." in pool else int(pool)
        if row["collected_at"] == "2022-03-28 09:00":
            cells[SAMPLE_HEADER.index("collected_at")] = dt.datetime(2022, 3, 28, 9, 0)  # noqa: DTZ001
        ws.append(cells)
    path = prepared / "samples.xlsx"
    wb.save(path)
    summary = import_rows(path, prepared / "rejects.csv")
    check_outcome(summary, prepared / "rejects.csv", rows)
    assert [r["reason"] for r in read_csv(prepared / "rejects.csv")] == REJECTED
    assert Tube.objects.get(barcode="T2").pool_size == 10
    assert Person.objects.get(id_number=U).registered is False


def test_missing_column_entirely_names_it(prepared):
    header = [c for c in SAMPLE_HEADER if c != "site_code"]
    rows = [{k: v for k, v in sample("T1", A).items() if k != "site_code"}]
    s, rejects = Importer(prepared)("samples", rows, header=header)
    assert dict(s.reasons) == {"missing_field:site_code": 1}
    assert rejects[0]["reason"] == "missing_field:site_code"


def test_pool_capacity_counts_members_of_earlier_files(prepared, pad):
    imp = Importer(prepared)
    first, _ = imp("samples", [sample("T5", p) for p in P[:3]])
    assert first.accepted == 3
    rows = [sample("T5", P[0]), *[sample("T5", p) for p in P[3:7]]]
    second, rejects = imp("samples", rows + pad)
    assert (second.accepted, second.duplicate, second.rejected) == (2 + len(pad), 1, 2)
    # The extra rows in file order are the ones refused.
    assert [(r["id_number"], r["reason"]) for r in rejects] == [
        (P[5], "tube_over_capacity"),
        (P[6], "tube_over_capacity"),
    ]
    assert set(Tube.objects.get(barcode="T5").samples.values_list("person__id_number", flat=True)) == set(
        P[:5]
    )
    third, _ = imp("samples", [sample("T5", P[7]), sample("T5", P[1], at="2022-03-28 08:00")] + pad)
    assert dict(third.reasons) == {"tube_over_capacity": 1}
    assert third.duplicate == 1 + len(pad)
    # A duplicate row with an earlier time changes nothing.
    assert Tube.objects.get(barcode="T5").first_collected_at == dt.datetime(2022, 3, 28, 1, 0, tzinfo=dt.UTC)


def test_an_earlier_member_moves_the_tube_time(prepared, pad):
    imp = Importer(prepared)
    imp("samples", [sample("T5", P[0], at="2022-03-28 10:00")])
    imp("samples", [sample("T5", P[1], at="2022-03-28 08:15")] + pad)
    assert Tube.objects.get(barcode="T5").first_collected_at == dt.datetime(2022, 3, 28, 0, 15, tzinfo=dt.UTC)


def test_same_person_same_tube_other_site_is_duplicate_and_keeps_the_tube(prepared):
    imp = Importer(prepared)
    imp("samples", [sample("T6", A, site="S01", box="BX1", at="2022-03-28 09:00")])
    s, _ = imp("samples", [sample("T6", A, site="S02", box="BX2", at="2022-03-28 08:00", name="另名")])
    assert (s.accepted, s.duplicate, s.rejected) == (0, 1, 0)
    tube = Tube.objects.select_related("site").get(barcode="T6")
    assert (tube.site.code, tube.box_code) == ("S01", "BX1")
    assert tube.first_collected_at == dt.datetime(2022, 3, 28, 1, 0, tzinfo=dt.UTC)
    assert Sample.objects.get(tube=tube).collected_at == dt.datetime(2022, 3, 28, 1, 0, tzinfo=dt.UTC)


def test_id_type_aliases_and_lowercase_x_match_the_registered_person(prepared):
    x = rid("110105", "19491231", "002")
    assert x.endswith("X")
    make_person(id_number=x, name="赵")
    s, _ = Importer(prepared)(
        "samples",
        [sample("T7", x.lower(), id_type="身份证"), sample("T7", x, id_type="RESIDENT_ID", site="S02")],
    )
    assert (s.accepted, s.duplicate) == (1, 1)
    person = Person.objects.get(id_number=x)
    assert person.registered and Sample.objects.get(tube__barcode="T7").person == person
    assert Person.objects.filter(id_number__iexact=x).count() == 1


def test_new_round_and_closed_round(prepared):
    imp = Importer(prepared)
    s, _ = imp("samples", [sample("T8", A, rnd="R0")])
    assert dict(s.reasons) == {"round_closed": 1}
    r1 = Round.objects.get(code="R1")
    services.round_close(actor=None, rnd=r1)
    s, _ = imp("samples", [sample("T1", A)])
    assert dict(s.reasons) == {"round_closed": 1}
    assert not Tube.objects.filter(barcode__in=["T1", "T8"]).exists()


def test_persons_community_unchanged_by_samples(prepared):
    """A sampled registered person stays in their community (the sampling site says nothing about it)."""
    Importer(prepared)("samples", [sample("T1", A, site="S03")])
    assert Person.objects.get(id_number=A).community_id == JJ_COMMUNITY


def test_extra_cells_rejected_first_nothing_stored_the_rest_accepted(prepared, pad):
    import csv
    import io

    def line(row: dict, tail: str = "") -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow([row[c] for c in SAMPLE_HEADER])
        return buf.getvalue() + tail + "\r\n"

    shifted_name = sample("T7", P[7], name="外来")
    lines = [
        ",".join(SAMPLE_HEADER) + "\r\n",
        line(sample("T6", A, name="陈,建国")),  # a quoted comma is one cell
        line(sample("T7", P[6], box="BX7"), ",extra"),  # one cell too many
        line(shifted_name).replace("外来", "外来,人员"),  # an unquoted comma in the name
        line(sample("T7", "", rnd=""), ","),  # missing fields too: extra_cells comes first
        line(sample("T6", B, site="S404")),  # the other checks still run
        *(line(row) for row in pad),
    ]
    path = prepared / "shifted.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode())
    summary = import_rows(path, prepared / "rejects.csv")

    assert summary.read == 5 + len(pad)
    assert summary.read == summary.accepted + summary.duplicate + summary.held + summary.rejected
    assert (summary.accepted, summary.rejected) == (1 + len(pad), 4)
    assert dict(summary.reasons) == {"extra_cells": 3, "unknown_site": 1}
    back = read_csv(prepared / "rejects.csv")
    assert [(r["tube_barcode"], r["reason"]) for r in back] == [
        ("T7", "extra_cells"),
        ("T7", "extra_cells"),
        ("T7", "extra_cells"),
        ("T6", "unknown_site"),
    ]
    assert list(back[0]) == [*SAMPLE_HEADER, "EXTRA_CELLS", "reason"]
    assert (back[0]["box_code"], back[0]["EXTRA_CELLS"]) == ("BX7", "extra")
    # Shifted by the name's comma: the empty box code is the one cell too many.
    assert (back[1]["name"], back[1]["site_code"], back[1]["collected_at"], back[1]["EXTRA_CELLS"]) == (
        "外来",
        "人员",
        "S01",
        "",
    )
    assert not Tube.objects.filter(barcode="T7").exists()
    assert not Person.objects.filter(id_number__in=[P[6], P[7]]).exists()
    assert list(Tube.objects.get(barcode="T6").samples.values_list("person__id_number", flat=True)) == [A]


@pytest.mark.parametrize("path", ["small", "bulk"])
def test_pool_sizes_come_from_the_rounds_edition(db, tmp_path, monkeypatch, path):
    """A round opened under an edition without 20-person pools refuses them; the default takes them."""
    import dataclasses

    from lianfang import protocol
    from lianfang.screening.services import samples

    if path == "bulk":
        monkeypatch.setattr(samples, "SMALL_BATCH", 0)
    p9 = protocol.edition("p9")
    early = dataclasses.replace(
        p9, code="early", screening=dataclasses.replace(p9.screening, sample_pool_sizes=(1, 5, 10))
    )
    monkeypatch.setitem(protocol.EDITIONS, "early", early)
    setup_world(tmp_path)
    services.round_open(
        actor=None, code="R2", name="早期", scope=["350582"], starts_at=Round.objects.get().starts_at
    )
    Round.objects.filter(code="R2").update(edition="early")
    a, b = rid("350582", "19800101", "051"), rid("350582", "19800101", "052")
    summary, rejects = Importer(tmp_path)(
        "samples", [sample("P20A", a, pool="20"), sample("P20B", b, rnd="R2", pool="20")]
    )
    assert (summary.accepted, dict(summary.reasons)) == (1, {"bad_pool_size": 1})
    assert [(r["tube_barcode"], r["reason"]) for r in rejects] == [("P20B", "bad_pool_size")]
