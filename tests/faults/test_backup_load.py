"""The backup drill under load (issue 15, item 5): ``lianfang backup`` taken in the middle of a round
while devices are sending, restored into a fresh database. The copy is one moment: it holds every
tube acknowledged before the backup began, none first sent after it ended, and each tube whole;
and its round report equals the report of the source at that moment — built independently, by
importing exactly the copied tubes (same people, sites, times) into a third database.
(tests/core/test_backup.py is the drill with an import writing.)"""

from __future__ import annotations

import csv
import threading
import time

import pytest
from bench._stack import Device, Stack

from tests.conftest import JJ_COMMUNITY
from tests.faults.conftest import just_now, people

pytestmark = pytest.mark.slow

SITES = ["S01", "S02"]


def _report(site: Stack, out) -> dict[str, str]:
    site.run("round", "report", "R1", "--out", out)
    return {p.name: p.read_text(encoding="utf-8-sig") for p in sorted(out.iterdir())}


def _tubes(site: Stack) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for barcode, person in site.stored_pairs():
        out.setdefault(barcode, set()).add(person)
    return out


def test_a_backup_taken_while_devices_send_restores_the_report_of_its_moment(stack, tmp_path):
    ids = people(2000)
    source = stack("bk_source")
    tokens = source.prepare(people=ids, sites=SITES, community=JJ_COMMUNITY)
    server = source.serve(workers=2, threads=4)
    stop = threading.Event()
    sent: dict[str, dict] = {}  # barcode → site, members, time, first sent, answered
    lock = threading.Lock()
    errors: list[BaseException] = []

    def run(d: int) -> None:
        device = Device(server.port, tokens[d], timeout=60)
        n = 0
        try:
            while not stop.is_set():
                barcode, members, when = (
                    f"B{d}-{n:05d}",
                    [ids[(d * 997 + n * 10 + j) % len(ids)] for j in range(10)],
                    just_now(),
                )
                record = {"site": SITES[d], "members": members, "at": when, "sent": time.monotonic()}
                with lock:
                    sent[barcode] = record
                body = {
                    "round_code": "R1",
                    "tube_barcode": barcode,
                    "pool_size": 10,
                    "members": [{"id_number": m, "collected_at": when} for m in members],
                }
                device.send("/api/v1/screening/tubes", body, give_up_after=300)
                record["answered"] = time.monotonic()
                n += 1
        except BaseException as exc:  # noqa: BLE001 — reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in range(len(SITES))]
    for t in threads:
        t.start()

    def answered(since: float = 0.0) -> int:
        with lock:
            return sum(1 for r in sent.values() if r.get("answered") and r["sent"] > since)

    deadline = time.monotonic() + 120
    while answered() < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    began = time.monotonic()
    source.run("backup", tmp_path / "backup")
    ended = time.monotonic()
    while answered(since=ended) < 4 and time.monotonic() < deadline + 120:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors

    target = stack("bk_target")
    target.run("restore", tmp_path / "backup")
    copied = _tubes(target)
    before = {b for b, r in sent.items() if r.get("answered", float("inf")) < began}
    after = {b for b, r in sent.items() if r["sent"] > ended}
    assert before and after, "the backup did not fall in the middle of the load"
    assert before <= set(copied) and not (after & set(copied))
    assert all(copied[b] == set(sent[b]["members"]) for b in copied)  # every tube whole
    assert len(_tubes(source)) > len(copied)  # the source went on after the copy

    # The source at the backup's moment, built independently: the copied tubes imported afresh.
    reference = stack("bk_reference")
    reference.prepare(people=ids, sites=SITES, community=JJ_COMMUNITY)
    with open(tmp_path / "moment.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["round_code", "tube_barcode", "pool_size", "id_number", "site_code", "collected_at"])
        for barcode in sorted(copied):
            r = sent[barcode]
            w.writerows(["R1", barcode, "10", m, r["site"], r["at"]] for m in r["members"])
    reference.run("import", "samples", tmp_path / "moment.csv")
    assert target.integrity() == "ok"
    assert _report(target, tmp_path / "restored") == _report(reference, tmp_path / "reference")
