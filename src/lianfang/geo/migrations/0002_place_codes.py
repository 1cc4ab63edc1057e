"""Codes for compounds and buildings (issue 13): the community's code + "-001" for a compound, the
compound's + "-01" for a building, numbered in name order within each parent for the rows that
exist already."""

from django.db import migrations, models

from lianfang.core import codes


def number_places(apps, schema_editor):
    Compound = apps.get_model("geo", "Compound")
    Building = apps.get_model("geo", "Building")
    compound_codes = {}
    number: dict = {}
    changed = []
    # Name order by code point, in Python (as geo.places numbers new ones), not the database's collation.
    for c in sorted(Compound.objects.all(), key=lambda c: (c.community_id, c.name, c.pk)):
        number[c.community_id] = number.get(c.community_id, 0) + 1
        c.code = codes.compound_code(c.community_id, number[c.community_id])
        compound_codes[c.pk] = c.code
        changed.append(c)
    Compound.objects.bulk_update(changed, ["code"], batch_size=2000)
    number, changed = {}, []
    for b in sorted(Building.objects.all(), key=lambda b: (b.compound_id, b.name, b.pk)):
        number[b.compound_id] = number.get(b.compound_id, 0) + 1
        b.code = codes.building_code(compound_codes[b.compound_id], number[b.compound_id])
        changed.append(b)
    Building.objects.bulk_update(changed, ["code"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("geo", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="compound",
            name="code",
            field=models.CharField(max_length=20, null=True, verbose_name="小区代码"),
        ),
        migrations.AddField(
            model_name="building",
            name="code",
            field=models.CharField(max_length=20, null=True, verbose_name="楼栋代码"),
        ),
        migrations.RunPython(number_places, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="compound",
            name="code",
            field=models.CharField(max_length=20, unique=True, verbose_name="小区代码"),
        ),
        migrations.AlterField(
            model_name="building",
            name="code",
            field=models.CharField(max_length=20, unique=True, verbose_name="楼栋代码"),
        ),
    ]
