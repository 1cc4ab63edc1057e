"""A new domain is a new folder: a throwaway app plugs in its importer, reason, command and page."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import clear_url_caches

from lianfang.accounts.models import User
from lianfang.core import plugins
from lianfang.core.summary import ReasonConflict, reason_text, register_reasons
from tests.conftest import make_user


@pytest.fixture
def wells_app():
    """Install tests.core.wells as the settings of a deployment would, then forget it again."""

    def remount():
        plugins.reset()
        clear_url_caches()
        importlib.reload(importlib.import_module(settings.ROOT_URLCONF))

    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "tests.core.wells"]):
        remount()
        yield
    remount()


def test_reason_text_is_registered_per_app(wells_app):
    assert reason_text("dry_well") == ("水井已干涸", "the well is dry")
    assert reason_text("unknown_round")[1] == "unknown round"  # screening's, registered by its plugin


def test_importer_of_the_new_app_runs_through_the_shared_path(wells_app, tmp_path):
    from lianfang.imports.services import import_file

    path = tmp_path / "wells.csv"
    path.write_text("name,depth\nA,12\nB,0\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    summary = import_file(kind="wells", path=path, actor=None, rejects_path=rejects)
    assert summary.as_dict() == {
        "read": 2, "accepted": 1, "duplicate": 0, "held": 0, "rejected": 1, "reasons": {"dry_well": 1}
    }  # fmt: skip
    assert "B,0,dry_well" in rejects.read_text(encoding="utf-8")


def test_cli_subcommand_of_the_new_app(wells_app, capsys):
    from lianfang.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["wells", "--depth", "30"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == "wells at 30 m"


def test_page_and_navigation_of_the_new_app(wells_app, client, db):
    make_user("wells_cmd", "commander", ["3505"])
    make_user("wells_office", "command_office", ["350582"])
    client.force_login(User.objects.get(username="wells_cmd"))
    page = client.get("/wells/")
    assert page.status_code == 200 and page.content == b"wells of 3505"
    home = client.get("/").content.decode()
    assert '<a href="/wells/">水井</a>' in home
    client.logout()
    client.force_login(User.objects.get(username="wells_office"))
    assert "/wells/" not in client.get("/").content.decode()  # the verb is the commander's only


def test_a_fact_the_app_provides_is_read_without_importing_it(wells_app):
    assert plugins.provider("wells_dry")() == 3


def test_a_family_of_facts_gathers_each_apps_member():
    one = plugins.Plugin(app="one", provides={"overdue.one": "tests.core.wells.services.dry_wells"})
    two = plugins.Plugin(
        app="two", provides={"overdue.two": "tests.core.wells.services.dry_wells", "other": "x.y"}
    )
    plugins._register([one, two])
    saved, plugins._plugins = plugins._plugins, [one, two]
    try:
        assert [f() for f in plugins.providers("overdue")] == [3, 3]
        assert plugins.providers("nothing") == []
    finally:
        plugins._plugins = saved


def test_two_apps_cannot_provide_one_fact():
    one = plugins.Plugin(app="one", provides={"dry": "a.b"})
    two = plugins.Plugin(app="two", provides={"dry": "c.d"})
    with pytest.raises(plugins.PluginError, match="dry"):
        plugins._register([one, two])


def test_without_the_app_nothing_of_it_is_there(client, db):
    assert "wells" not in plugins.importers()
    assert plugins.provider("wells_dry") is None  # a reader shows "—", not 0
    assert reason_text("dry_well") == ("dry_well", "dry_well")
    make_user("plain_cmd", "commander", ["3505"])
    client.force_login(User.objects.get(username="plain_cmd"))
    assert client.get("/wells/").status_code == 404


def test_two_apps_cannot_claim_one_reason_with_different_text():
    register_reasons("a", {"same_reason_twice": ("甲", "a")})
    register_reasons("a", {"same_reason_twice": ("甲", "a")})  # the same again is harmless
    with pytest.raises(ReasonConflict):
        register_reasons("b", {"same_reason_twice": ("乙", "b")})


def test_undeclared_verb_is_a_defect_not_a_silent_refusal(db):
    with pytest.raises(KeyError):
        plugins.roles_for("no.such.verb")
