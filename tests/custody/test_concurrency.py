"""Races on PostgreSQL: the last free room taken by exactly one check-in; one live transfer order
per person however many tracers press the button at once. Each race is widened by a pause inside
the service (after the decision, before the write) so that a missing lock or index shows."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from lianfang.custody.models import Stay, TransferOrder
from lianfang.custody.services import CustodyError, stay_check_in, transfer_request
from lianfang.custody.services import stays as stays_module
from lianfang.custody.services import transfers as transfers_module
from lianfang.people.models import Person
from tests.conftest import JJ_COMMUNITY, make_person, rid
from tests.custody.helpers import make_place

N = 6


@pytest.fixture
def postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrency is tested on PostgreSQL (the in-memory SQLite test database is one connection)"
        )


def race(work) -> tuple[list, list]:
    """Run ``work(k)`` in N threads released together; (results, refusals)."""
    barrier = threading.Barrier(N)
    results, refusals, errors = [], [], []

    def run(k: int) -> None:
        try:
            barrier.wait()
            results.append(work(k))
        except CustodyError as exc:
            refusals.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results, refusals


def test_parallel_check_ins_to_the_last_free_room(postgres, monkeypatch):
    place = make_place("JJ-H1", JJ_COMMUNITY, units="101-102")
    numbers = [rid("350582", "19800101", f"{400 + k}") for k in range(N + 1)]
    for n in numbers:
        make_person(id_number=n)
    stay_check_in(actor=None, place=place, id_type="resident_id", id_number=numbers[N])  # 101 taken

    chosen = stays_module._free_unit

    def slow_choice(*args, **kwargs):
        unit = chosen(*args, **kwargs)
        time.sleep(0.3)  # every racer has decided before anyone writes, unless the lock holds them
        return unit

    monkeypatch.setattr(stays_module, "_free_unit", slow_choice)
    results, refusals = race(
        lambda k: stay_check_in(actor=None, place=place, id_type="resident_id", id_number=numbers[k])
    )
    assert len(results) == 1 and refusals == ["place_full"] * (N - 1)
    assert Stay.objects.filter(unit__label="102").count() == 1
    assert Stay.objects.count() == 2


def test_parallel_transfer_orders_for_one_person(postgres, monkeypatch):
    number = rid("350582", "19800101", "499")  # not in the registry: created once, by whoever wins
    checked = transfers_module._has_live_order

    def slow_check(person):
        found = checked(person)
        time.sleep(0.3)  # every racer passes the friendly check: only the index can stop them
        return found

    monkeypatch.setattr(transfers_module, "_has_live_order", slow_check)
    results, refusals = race(
        lambda k: transfer_request(
            actor=None,
            id_type="resident_id",
            id_number=number,
            category="close",
            name="并发甲",
            community_code=JJ_COMMUNITY,
        )
    )
    assert len(results) == 1 and refusals == ["transfer_live"] * (N - 1)
    assert TransferOrder.objects.live().count() == 1
    assert Person.objects.filter(id_number=number).count() == 1
