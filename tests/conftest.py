"""Shared fixtures: the real Quanzhou divisions, users per role and jurisdiction, small populations."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
from django.test import Client

from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import Actor
from lianfang.accounts.services import user_create

JINJIANG = "350582"
LICHENG = "350502"
# Two real communities in different counties.
JJ_COMMUNITY = "350582001004"
LC_COMMUNITY = "350502001001"
PASSWORD = "correct-horse-42"
LAST_TEST = Path("var/last-test")
FAULTS = Path("var/faulthandler.log")


@pytest.hookimpl(trylast=True)  # after pytest's own faulthandler plugin, which writes to stderr
def pytest_configure(config):
    """A crash in native code dumps every thread's stack to a file, not to stderr: CI keeps only the
    end of the output, where the outermost frames of the main thread would hide the crashing
    thread's innermost ones and whatever C library message came before. scripts/pytest_said.sh
    prints the useful part of the file should pytest die of a signal."""
    import faulthandler

    FAULTS.parent.mkdir(exist_ok=True)
    config._lianfang_faults = FAULTS.open("w", encoding="utf-8")
    faulthandler.enable(file=config._lianfang_faults, all_threads=True)


def pytest_runtest_logstart(nodeid, location):
    """The test starting now, kept where scripts/pytest_said.sh reads it should pytest die of a
    signal (a crash in native code leaves no report)."""
    LAST_TEST.parent.mkdir(exist_ok=True)
    LAST_TEST.write_text(nodeid + " (running)\n", encoding="utf-8")


def pytest_runtest_logfinish(nodeid, location):
    LAST_TEST.write_text(nodeid + " (finished; the next test had not started)\n", encoding="utf-8")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the shipped division tree once per test database."""
    from lianfang.geo.services import divisions_load_shipped

    with django_db_blocker.unblock():
        divisions_load_shipped()


@pytest.fixture(autouse=True)
def _forget_device_bindings():
    """Tests roll back, and SQLite then hands out the same token ids again: the process's memory
    of device bindings (screening.api) must not outlive a test."""
    from lianfang.screening.api import _device_binding

    _device_binding.cache_clear()


@pytest.fixture(autouse=True)
def _divisions_after_flush(request):
    """Transactional tests (live server, browser) flush every table: reload the divisions then."""
    if not {"transactional_db", "live_server"} & set(request.fixturenames):
        return
    request.getfixturevalue("transactional_db")
    from lianfang.geo.models import Division
    from lianfang.geo.services import divisions_load_shipped

    if not Division.objects.exists():
        divisions_load_shipped()


def make_user(username: str, role: str, codes: list[str]):
    return user_create(username=username, password=PASSWORD, role=role, codes=codes, display_name=username)


@pytest.fixture
def county_user(db):
    """A Jinjiang county command-office user (sees masked personal data)."""
    return make_user("jj_office", Role.COMMAND_OFFICE, [JINJIANG])


@pytest.fixture
def county_tracer(db):
    return make_user("jj_tracer", Role.TRACER, [JINJIANG])


@pytest.fixture
def city_user(db):
    return make_user("city_office", Role.COMMAND_OFFICE, ["3505"])


@pytest.fixture
def auditor(db):
    return make_user("auditor1", Role.AUDITOR, ["3505"])


def actor(user) -> Actor:
    return Actor.for_user(user, ip="127.0.0.1")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_person(**kw):
    """One registered person via the real import path (so derived columns are right)."""
    import pyarrow as pa

    from lianfang.people.models import Person
    from lianfang.people.services import persons_import

    row = {
        "id_type": "resident_id",
        "name": "张伟",
        "community_code": JJ_COMMUNITY,
        "phone": "",
        "address": "",
        "tags": "",
    }
    row.update(kw)
    summary, _ = persons_import(table=pa.Table.from_pylist([row]), actor=None, source="fixture")
    assert summary.accepted == 1, summary
    return Person.objects.get(id_type=row["id_type"], id_number=row["id_number"].upper())


def rid(prefix: str, birth: str, seq: str) -> str:
    """A valid resident ID with the given region, birth date (YYYYMMDD) and 3-digit sequence."""
    from lianfang.people.idnumbers import check_digit

    body = f"{prefix}{birth}{seq}"
    return body + check_digit(body)


def instead_of_stating(stand_in: str) -> list[str]:
    """``INSTALLED_APPS`` with the test app ``stand_in`` in place of every installed app that states
    one of the facts it states (two apps may not state one fact): a test feeds the facts of another
    domain by hand, as if that domain were a different implementation of the same facts."""
    from importlib import import_module
    from importlib.util import find_spec

    from django.conf import settings

    def provides(app: str) -> set[str]:
        if find_spec(f"{app}.plugin") is None:
            return set()
        return set(import_module(f"{app}.plugin").PLUGIN.provides)

    facts = provides(stand_in)
    kept = [a for a in settings.INSTALLED_APPS if not (a.startswith("lianfang.") and facts & provides(a))]
    return [*kept, stand_in]


@contextmanager
def apps_left_out(*apps: str):
    """The installed apps without ``apps``, as a deployment without them would be (URLs and plugins
    found again on the way in and out)."""
    import importlib

    from django.conf import settings
    from django.test import override_settings
    from django.urls import clear_url_caches

    from lianfang.core import plugins

    def remount():
        plugins.reset()
        clear_url_caches()
        importlib.reload(importlib.import_module(settings.ROOT_URLCONF))

    try:
        with override_settings(INSTALLED_APPS=[a for a in settings.INSTALLED_APPS if a not in apps]):
            remount()
            yield
    finally:
        remount()


@pytest.fixture
def without_tracing():
    """Tracing (the app stating cases and plans) left out, as a deployment without it would be."""
    with apps_left_out("lianfang.tracing", "lianfang.companions"):
        yield
