"""Custody test data: places, facts a stand-in tracing app states, the world of the walkers."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import clear_url_caches

from lianfang import protocol
from lianfang.core import plugins
from lianfang.core.facts import CaseFact, PlanFact
from lianfang.custody import services
from lianfang.custody.models import Place
from tests.conftest import instead_of_stating
from tests.custody.faketracing import facts as fake


@pytest.fixture
def tracing():
    """Install the stand-in tracing app (as a deployment's settings would); yields its fact lists."""

    def remount():
        plugins.reset()
        clear_url_caches()
        importlib.reload(importlib.import_module(settings.ROOT_URLCONF))

    fake.CASES.clear()
    fake.PLANS.clear()
    with override_settings(INSTALLED_APPS=instead_of_stating("tests.custody.faketracing")):
        remount()
        yield fake
    fake.CASES.clear()
    fake.PLANS.clear()
    remount()


def make_place(
    code: str, community: str, *, kind: str = "hotel", units: str = "101-103", beds: int = 1
) -> Place:
    return services.place_create(
        actor=None,
        code=code,
        name=f"{code}隔离点",
        kind=kind,
        community_code=community,
        units=units,
        beds=beds,
    )


def plan_fact(
    person,
    *,
    category: str = "close",
    last_exposure: dt.datetime,
    registered_at: dt.datetime,
    edition: str = "p9",
    case_code: str = "C1",
    community_code: str | None = None,
) -> PlanFact:
    plan = protocol.contact_plan(protocol.edition(edition), category, last_exposure, registered_at)
    return PlanFact(
        id_type=person.id_type,
        id_number=person.id_number,
        name=person.name,
        category=category,
        case_code=case_code,
        community_code=person.community_id if community_code is None else community_code,
        registered_at=registered_at,
        upgraded_at=None,
        plan=plan,
    )


def case_fact(person, *, reported_at: dt.datetime, case_code: str = "C1") -> CaseFact:
    return CaseFact(
        case_code=case_code,
        id_type=person.id_type,
        id_number=person.id_number,
        community_code=person.community_id or "",
        classification_at_report="confirmed",
        found_in="screening",
        reported_at=reported_at,
    )


def discharge(person, place: Place, *, discharged_at: dt.datetime):
    """``person`` checked into ``place`` (a 方舱 or hospital) and discharged at ``discharged_at``
    by the Ct rule, with the server's authority (two passing tests 30 h apart before it)."""
    stay = services.stay_check_in(
        actor=None,
        place=place,
        id_type=person.id_type,
        id_number=person.id_number,
        at=discharged_at - dt.timedelta(days=4),
    )
    for hours in (60, 30):
        services.stay_test_record(
            actor=None,
            stay=stay,
            sampled_at=discharged_at - dt.timedelta(hours=hours),
            result="negative",
            ct_n=38,
            ct_orf1ab=38,
        )
    return services.stay_end(actor=None, stay=stay, at=discharged_at)


def custody_world(person, community: str, prefix: str) -> dict:
    """For the route walkers: a place in ``community`` holding ``person`` (a stay) and a live
    transfer order for them, and, before, a 方舱 of ``community`` that discharged them two days
    ago (their home health monitoring runs), all with the server's authority."""
    from django.utils import timezone

    ward = make_place(f"{prefix}-F0", community, kind="fangcang", units="1-2")
    discharged = discharge(person, ward, discharged_at=timezone.now() - dt.timedelta(days=2))
    place = make_place(f"{prefix}-H1", community)
    order = services.transfer_request(
        actor=None, id_type=person.id_type, id_number=person.id_number, category="close"
    )
    stay = services.stay_check_in(actor=None, place=place, id_type=person.id_type, id_number=person.id_number)
    return {"place": place, "order": order, "stay": stay, "discharged": discharged, "discharge_ward": ward}
