"""The simulated input files of a screening round (bench/screening.py's data)."""

from __future__ import annotations

import csv
import hashlib

import numpy as np
import pyarrow.parquet as pq
import pytest

from lianfang.people.idnumbers import validate_resident_ids
from lianfang.screening.rules import RESULT_COLUMNS, SAMPLE_COLUMNS
from lianfang.simulate.generator import generate_population
from lianfang.simulate.screening_files import DAY, LABS, ROUND_CODE, write_files

N = 12_000
SEED = 5

# FORMATS.md "Reference data" and "Screening": the columns each file carries (samples and results:
# every column the importer reads, in its order).
HEADERS = {
    "persons.csv": [
        "id_type",
        "id_number",
        "name",
        "phone",
        "community_code",
        "address",
        "birth_date",
        "tags",
    ],
    "sites.csv": ["site_code", "name", "community_code", "desks"],
    "labs.csv": ["lab_code", "name", "daily_capacity"],
    "samples.csv": list(SAMPLE_COLUMNS),
    "results.csv": list(RESULT_COLUMNS),
}
PARQUET = ["persons.parquet", "samples.parquet", "results.parquet", "communities.parquet"]

# sha256 of the cells of each file (as read back, joined by \x1f, rows by \n) for N and SEED: a
# change of these is a change of the benchmark's data; make it on purpose, never by a refactoring.
PINNED = {
    "persons.csv": "90e1ca05eadfc65de1c3d5264ae4fbefbeee293ae5e74d5e82cf12c34412e97c",
    "sites.csv": "ce4973456991286e2b5d2921cd26abdd5dbdc6f262143aed5d5859593f43087b",
    "labs.csv": "753dbda8a4d0a09759a6f428631344aca53d6e24e4e8ab03255e720c6b5cad25",
    "samples.csv": "785aeb4dcc550daa3ba8916cb0f9850865634470e1082a01ac96fe9b46d625db",
    "results.csv": "b9ca26fbb4c75a15e654a568dd6012d0be304b1ad84af95a9b5aab83a50acb09",
}


@pytest.fixture(scope="module")
def population():
    return generate_population(N, seed=SEED)


@pytest.fixture(scope="module")
def written(population, tmp_path_factory):
    out = tmp_path_factory.mktemp("round")
    return out, write_files(population, out, SEED)


def _rows(path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _cells_sha256(path) -> str:
    return hashlib.sha256("\n".join("\x1f".join(row) for row in _rows(path)).encode()).hexdigest()


def test_files_headers_and_row_counts(written):
    out, made = written
    for name in (*HEADERS, *PARQUET):
        assert (out / name).is_file(), name
    rows = {name: _rows(out / name) for name in HEADERS}
    for name, header in HEADERS.items():
        assert rows[name][0] == header, name
    assert len(rows["persons.csv"]) - 1 == made["persons"] == N
    assert len(rows["sites.csv"]) - 1 == made["sites"] == round(N / 2_500)
    assert len(rows["labs.csv"]) - 1 == made["labs"] == LABS
    assert len(rows["samples.csv"]) - 1 == made["sample_rows"]
    assert len(rows["results.csv"]) - 1 == made["result_rows"]
    assert pq.read_metadata(out / "samples.parquet").num_rows == made["sample_rows"]
    assert pq.read_metadata(out / "results.parquet").num_rows == made["result_rows"]
    assert pq.read_metadata(out / "communities.parquet").num_rows == made["communities"]


def test_samples_as_described(written, population):
    out, made = written
    header, *rows = _rows(out / "samples.csv")
    col = {name: np.array([r[i] for r in rows]) for i, name in enumerate(header)}
    assert set(col["round_code"]) == {ROUND_CODE} and set(col["pool_size"]) == {"10"}
    sites = {r[0] for r in _rows(out / "sites.csv")[1:]}
    unknown_site = ~np.isin(col["site_code"], list(sites))
    dateless = col["collected_at"] == DAY.isoformat()
    bad_id = ~validate_resident_ids(col["id_number"], today=DAY)
    assert 0 < bad_id.sum() + unknown_site.sum() + dateless.sum() <= made["bad_rows"]
    timed = col["collected_at"][~dateless].astype("datetime64[s]")
    assert (timed >= np.datetime64(f"{DAY}T07:00")).all() and (timed < np.datetime64(f"{DAY}T22:10")).all()
    registered = set(population.column("id_number").to_pylist())
    people = set(col["id_number"][~bad_id])
    assert 0.93 * N < len(people & registered) < 0.97 * N
    assert 0 < len(people - registered) <= made["visitors"]
    pairs = list(zip(col["tube_barcode"], col["id_number"], strict=True))
    assert len(pairs) - len(set(pairs)) == made["duplicate_rows"]
    tubes, members = np.unique([tube for tube, _ in set(pairs)], return_counts=True)
    assert len(tubes) == made["pools"] and members.max() == 10


def test_results_as_described(written):
    out, made = written
    header, *rows = _rows(out / "results.csv")
    col = {name: np.array([r[i] for r in rows]) for i, name in enumerate(header)}
    assert set(col["result"]) <= {"negative", "positive", "inconclusive", "invalid"}
    assert (col["result"] == "negative").mean() > 0.95
    assert set(col["lab_code"]) <= {r[0] for r in _rows(out / "labs.csv")[1:]}
    reported = col["reported_at"].astype("datetime64[s]")
    assert (reported[:-1] <= reported[1:]).all()  # in reporting order
    sampled_tubes = {r[1] for r in _rows(out / "samples.csv")[1:]}
    held = set(col["tube_barcode"]) - sampled_tubes
    assert len(held) == made["held_tubes"]
    positive = col["result"] == "positive"
    assert all(float(v) > 0 for v in col["ct_orf1ab"][positive])
    assert set(col["ct_orf1ab"][col["result"] == "negative"]) == {""}


def test_same_seed_same_files(written, population, tmp_path):
    out, made = written
    again = write_files(population, tmp_path, SEED)
    assert again == made
    for name in (*HEADERS, *PARQUET):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    other = tmp_path / "other"
    other.mkdir()
    write_files(population, other, SEED + 1)
    assert (other / "samples.csv").read_bytes() != (out / "samples.csv").read_bytes()


def test_output_pinned_for_a_seed(written):
    out, _ = written
    assert {name: _cells_sha256(out / name) for name in PINNED} == PINNED
