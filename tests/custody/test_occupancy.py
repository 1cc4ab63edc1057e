"""Occupancy is derived from open stays: an empty room is free (the outer join's empty row is not a
stay), a checked-in room is taken, an ended stay frees it again."""

from __future__ import annotations

from django.utils import timezone

from lianfang.custody.models import Stay
from lianfang.custody.selectors.reads import places
from lianfang.custody.services.places import place_create
from lianfang.custody.services.stays import stay_check_in
from tests.conftest import JJ_COMMUNITY, actor, make_user, rid


def _counts(who):
    [place] = places(actor=who)
    return place.units_total, place.units_used, place.units_free, place.people


def test_free_taken_and_freed_again(db):
    hotel = place_create(
        actor=None, code="JJ-H9", name="酒店", kind="hotel", community_code=JJ_COMMUNITY, units="101-103"
    )
    who = actor(make_user("jj_iso", "isolation", ["350582"]))
    assert _counts(who) == (3, 0, 3, 0)
    stay = stay_check_in(
        actor=None, place=hotel, id_type="resident_id", id_number=rid("350582", "19900101", "101"), name="甲"
    )
    assert _counts(who) == (3, 1, 2, 1)
    Stay.objects.filter(pk=stay.pk).update(ended_at=timezone.now())
    assert _counts(who) == (3, 0, 3, 0)
