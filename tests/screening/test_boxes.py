"""Box hand-over: a device hands over boxes of its own site only."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lianfang.accounts.roles import Role
from lianfang.screening import services
from lianfang.screening.models import Box, Site, Tube
from tests.conftest import JINJIANG, LICHENG, actor, make_user, rid
from tests.screening.helpers import sample, setup_world

A = rid("350582", "19800101", "011")
B = rid("350582", "19811111", "022")


@pytest.fixture
def world(db, tmp_path):
    """Round R1 over Jinjiang; tube T1 sampled at site S01, T2 at site S02."""
    setup_world(tmp_path)
    rows = [sample("T1", A, site="S01"), sample("T2", B, site="S02")]
    services.samples_import(table=pa.Table.from_pylist(rows), actor=None)
    return {
        "s01": Site.objects.get(code="S01"),
        "sampler": actor(make_user("desk", Role.SAMPLER, [JINJIANG])),
    }


def _box_code(barcode: str) -> str:
    return Tube.objects.get(barcode=barcode).box_code


def test_a_device_hands_over_its_own_sites_box(world):
    box, unknown = services.box_handover(
        actor=world["sampler"], box_code="B1", round_code="R1", tubes=["T1", "T2", "T9"], site=world["s01"]
    )
    # The site defaults to the device's; another site's tube is not put in its box.
    assert (box.site, box.tubes, unknown) == (world["s01"], 1, ["T2", "T9"])
    assert (_box_code("T1"), _box_code("T2")) == ("B1", "")


def test_a_device_may_not_hand_over_another_sites_box(world):
    """A device bound to S01 naming site S02 is refused as if S02 did not exist; a box code that
    S02 already uses is refused too, and nothing is boxed either way."""
    with pytest.raises(services.NotFound) as exc:
        services.box_handover(
            actor=world["sampler"],
            box_code="B2",
            round_code="R1",
            tubes=["T2"],
            site_code="S02",
            site=world["s01"],
        )
    assert (exc.value.code, str(exc.value)) == ("unknown_site", "采样点不存在 / unknown site")
    assert not Box.objects.exists() and _box_code("T2") == ""
    # S02's own hand-over of B2, then S01's device reusing that box code.
    services.box_handover(actor=None, box_code="B2", round_code="R1", tubes=["T2"], site_code="S02")
    with pytest.raises(services.ScreeningError) as exc:
        services.box_handover(
            actor=world["sampler"], box_code="B2", round_code="R1", tubes=["T1"], site=world["s01"]
        )
    assert exc.value.code == "box_of_other_site" and not isinstance(exc.value, services.NotFound)
    assert (_box_code("T1"), Box.objects.get(code="B2").tubes) == ("", 1)


def test_sites_and_rounds_outside_the_jurisdiction_are_unknown(world):
    licheng = actor(make_user("lc_desk", Role.SAMPLER, [LICHENG]))
    with pytest.raises(services.NotFound) as exc:
        services.box_handover(actor=licheng, box_code="B3", round_code="R1", tubes=["T1"], site_code="S03")
    assert exc.value.code == "unknown_round"  # S03 is Licheng's; the Jinjiang round is not
    with pytest.raises(services.NotFound) as exc:
        services.box_handover(actor=licheng, box_code="B3", round_code="R1", tubes=["T1"], site_code="S01")
    assert exc.value.code == "unknown_site"
    assert not Box.objects.exists()
