"""Who may do what is the services' rule: the CLI, tasks, the API and the pages all meet it there."""

from __future__ import annotations

import pyarrow as pa
import pytest
from django.db import transaction

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.core.plugins import roles_for
from lianfang.screening import services
from lianfang.screening.models import Box, PoolAlert, RecheckTask, Round, Sample, Tube
from tests.conftest import JINJIANG, JJ_COMMUNITY, actor, make_person, make_user, rid
from tests.screening.helpers import result, sample, setup_world

A = rid("350582", "19800101", "011")

# The roles each verb of the screening plugin names (what the services must enforce).
ROUND_OPENERS, ROUND_CLOSERS = roles_for("round.open"), roles_for("round.close")
SITE_EDITORS, LAB_EDITORS = roles_for("sites.import"), roles_for("labs.import")
SAMPLE_WRITERS, RESULT_WRITERS = roles_for("samples.import"), roles_for("results.import")
RECHECK_REGISTRARS, ALERT_ACKNOWLEDGERS = roles_for("recheck.register"), roles_for("alert.acknowledge")


@pytest.fixture
def world(db, tmp_path):
    """Round R1 over Jinjiang with an abnormal pool T1 of one person: its alert and re-check task."""
    rnd = setup_world(tmp_path)
    make_person(id_number=A, name="陈建国")
    services.samples_import(table=pa.Table.from_pylist([sample("T1", A)]), actor=None)
    services.results_import(table=pa.Table.from_pylist([result("T1", "positive")]), actor=None)
    return {"round": rnd, "alert": PoolAlert.objects.get(), "task": RecheckTask.objects.get()}


def _actor(role: str):
    # City-wide: these tests are about roles; the labs are the city's and a county may not write
    # them whatever its role (jurisdiction: tests/accounts/test_write_scoping.py).
    return actor(make_user(f"u_{role}", role, [JINJIANG[:4]]))


def test_a_lab_user_may_not_open_a_round(world):
    with pytest.raises(services.NotPermitted) as exc:
        services.round_open(actor=_actor(Role.LAB), code="R9", name="x", scope=[JINJIANG])
    assert (exc.value.zh, exc.value.en) == ("您的角色无权执行此操作", "your role may not do this")
    assert not Round.objects.filter(code="R9").exists()
    assert (
        services.round_open(actor=_actor(Role.COMMANDER), code="R9", name="x", scope=[JINJIANG]).code == "R9"
    )


def test_a_sampler_may_not_acknowledge_an_alert(world):
    alert = world["alert"]
    with pytest.raises(services.NotPermitted):
        services.alert_acknowledge(actor=_actor(Role.SAMPLER), alert=alert)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None and alert.acknowledged_by is None
    office = _actor(Role.COMMAND_OFFICE)
    services.alert_acknowledge(actor=office, alert=alert)
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.acknowledged_by == office.user


# Every service with a role rule: its role set and a valid call (the world above, actor ``a``).
CALLS = {
    "round_open": (
        ROUND_OPENERS,
        lambda a, w: services.round_open(actor=a, code="R9", name="x", scope=[JINJIANG]),
    ),
    "round_close": (ROUND_CLOSERS, lambda a, w: services.round_close(actor=a, rnd=w["round"])),
    "sites_import": (
        SITE_EDITORS,
        lambda a, w: services.sites_import(
            table=pa.table({"site_code": ["S09"], "name": ["九号点"], "community_code": [JJ_COMMUNITY]}),
            actor=a,
        ),
    ),
    "labs_import": (
        LAB_EDITORS,
        lambda a, w: services.labs_import(table=pa.table({"lab_code": ["L09"], "name": ["九号"]}), actor=a),
    ),
    "samples_import": (
        SAMPLE_WRITERS,
        lambda a, w: services.samples_import(table=pa.Table.from_pylist([sample("T2", A)]), actor=a),
    ),
    "results_import": (
        RESULT_WRITERS,
        lambda a, w: services.results_import(table=pa.Table.from_pylist([result("T2", "negative")]), actor=a),
    ),
    "recheck_sample_register": (
        RECHECK_REGISTRARS,
        lambda a, w: services.recheck_sample_register(actor=a, task=w["task"], barcode="C1"),
    ),
    "alert_acknowledge": (
        ALERT_ACKNOWLEDGERS,
        lambda a, w: services.alert_acknowledge(actor=a, alert=w["alert"]),
    ),
    "box_handover": (
        SAMPLE_WRITERS,
        lambda a, w: services.box_handover(
            actor=a, box_code="B9", round_code="R1", tubes=["T1"], site_code="S01"
        ),
    ),
}


def _state() -> tuple:
    """What any of these services would change."""
    return (
        AuditEvent.objects.count(),
        list(Round.objects.values_list("code", "status")),
        Tube.objects.count(),
        Sample.objects.count(),
        list(PoolAlert.objects.values_list("acknowledged_at", flat=True)),
        list(RecheckTask.objects.values_list("status", flat=True)),
        Box.objects.count(),
    )


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_role_rule_holds_in_the_service(world, name):
    """Each role outside the service's set is refused with nothing changed; each inside it, and
    the server's authority (actor None), gets the work done."""
    roles, call = CALLS[name]
    actors = {role: _actor(role) for role in Role.values}
    for role, who in [*actors.items(), ("server", None)]:
        before = _state()
        with transaction.atomic():
            if who is not None and role not in roles:
                with pytest.raises(services.NotPermitted):
                    call(who, world)
                assert _state() == before, (name, role)
            else:
                call(who, world)
                assert _state() != before, (name, role)
            transaction.set_rollback(True)
        for obj in world.values():
            obj.refresh_from_db()
