"""The protocol edition in force: a setting, switched by a city-wide commander, audited, history."""

from __future__ import annotations

import datetime as dt

import pytest

from lianfang.accounts.models import AuditEvent, User
from lianfang.accounts.scoping import Actor
from lianfang.edition.models import EditionSwitch
from lianfang.edition.services import EditionError, edition_switch, in_force
from lianfang.protocol import SHANGHAI, contact_plan
from tests.conftest import JINJIANG, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def city_commander():
    return make_user("city_cmd", "commander", ["3505"])


def test_the_setting_is_in_force_until_switched(settings):
    assert in_force().code == "p9"
    settings.LIANFANG_PROTOCOL = "p8"
    assert in_force().code == "p8"


def test_switching_p9_to_p8_changes_the_close_contact_plan_without_code(city_commander):
    exposed = dt.datetime(2022, 3, 20, 18, 0, tzinfo=SHANGHAI)
    before = contact_plan(in_force(), "close", exposed)
    edition_switch(actor=Actor.for_user(city_commander), code="p8", reason="联防联控机制综发〔2021〕51号")
    after = contact_plan(in_force(), "close", exposed)
    assert (before.edition, before.ends_at - exposed, before.monitoring_ends_at - before.ends_at) == (
        "p9",
        dt.timedelta(days=7),
        dt.timedelta(days=3),
    )
    assert (after.edition, after.ends_at - exposed, after.monitoring_ends_at - after.ends_at) == (
        "p8",
        dt.timedelta(days=14),
        dt.timedelta(days=7),
    )


def test_a_switch_is_history_and_audited(city_commander):
    actor = Actor.for_user(city_commander)
    edition_switch(actor=actor, code="community-2022", reason="泉州市指挥部通告")
    switch = EditionSwitch.objects.get()
    assert (switch.previous, switch.edition, switch.switched_by) == ("p9", "community-2022", city_commander)
    event = AuditEvent.objects.get(object_type="protocol")
    assert (
        event.user == city_commander
        and event.detail["from"] == "p9"
        and event.detail["to"] == "community-2022"
    )
    with pytest.raises(PermissionError):
        EditionSwitch.objects.update(edition="p9")


def test_a_county_commander_may_not_switch_the_city_rule():
    county_commander = make_user("jj_cmd", "commander", [JINJIANG])
    with pytest.raises(EditionError, match="city-wide"):
        edition_switch(actor=Actor.for_user(county_commander), code="p8", reason="x")
    assert not EditionSwitch.objects.exists()


def test_a_city_user_without_the_verb_may_not_switch():
    office = make_user("city_group", "working_group", ["3505"])
    with pytest.raises(EditionError):
        edition_switch(actor=Actor.for_user(office), code="p8", reason="x")


@pytest.mark.parametrize(
    ("code", "reason", "message"),
    [
        ("p7", "x", "unknown protocol edition: p7"),
        ("p8", "  ", "give the reason"),
        ("p9", "x", "already in force"),
    ],
)
def test_bad_switches_are_refused_with_a_clear_message(city_commander, code, reason, message):
    with pytest.raises(EditionError, match=message):
        edition_switch(actor=Actor.for_user(city_commander), code=code, reason=reason)


def test_page_shows_the_edition_and_switches_for_the_commander(client, city_commander):
    client.force_login(User.objects.get(username="city_cmd"))
    page = client.get("/protocol/").content.decode()
    assert "p9" in page and "screening.round_hours" in page and 'id="edition-switch"' in page
    assert "待核实" in page  # local practice is marked
    response = client.post("/protocol/", {"edition": "p8", "reason": "综发〔2021〕51号"})
    assert response.status_code == 302 and in_force().code == "p8"


def test_page_refuses_a_county_users_switch(client):
    make_user("jj_cmd2", "commander", [JINJIANG])
    client.force_login(User.objects.get(username="jj_cmd2"))
    response = client.post("/protocol/", {"edition": "p8", "reason": "x"})
    assert response.status_code == 400 and "city-wide" in response.content.decode()
    assert in_force().code == "p9"


def test_cli_show_and_switch(capsys):
    from lianfang.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["protocol", "switch", "p8", "--reason", "综发〔2021〕51号"])
    assert exit_.value.code == 0 and in_force().code == "p8"
    with pytest.raises(SystemExit) as exit_:
        main(["protocol", "switch", "p5", "--reason", "x"])
    assert exit_.value.code == 2 and "unknown protocol edition" in capsys.readouterr().err
