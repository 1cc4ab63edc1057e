"""The simulator (and so the demo) codes the compounds and buildings it makes, as every path does."""

from __future__ import annotations

from lianfang.core import codes
from lianfang.geo.models import Building, Compound
from lianfang.people.models import Person
from lianfang.simulate.services import population_load


def test_population_load_codes_its_compounds_and_buildings(db):
    population_load(persons=200, seed=7)
    compounds = list(Compound.objects.all())
    buildings = list(Building.objects.select_related("compound"))
    assert compounds and buildings
    for c in compounds:
        assert codes.is_compound_code(c.code) and codes.place_community(c.code) == c.community_id
    for b in buildings:
        assert codes.is_building_code(b.code) and b.code.startswith(b.compound.code + "-")
    placed = Person.objects.filter(building__isnull=False).values_list("community_id", "building__code")
    assert placed and all(code.startswith(community + "-") for community, code in placed)
    before = dict(Building.objects.values_list("pk", "code"))
    population_load(persons=200, seed=8)  # more people, the same places kept with their codes
    after = dict(Building.objects.values_list("pk", "code"))
    assert all(after[pk] == code for pk, code in before.items())
    assert len(set(after.values())) == len(after)
