"""The division tree (province → city → county → town → community) and addresses under it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.scoping import ScopedQuerySet, inside_q, overlap_q
from lianfang.core import codes


class Level(models.IntegerChoices):
    PROVINCE = 1, _("省")
    CITY = 2, _("市")
    COUNTY = 3, _("县区")
    TOWN = 4, _("乡镇街道")
    COMMUNITY = 5, _("社区村")


# The length of a division code at each level (GB/T 2260 + the 12-digit statistical code).
CODE_LENGTH = {Level(level): length for level, length in codes.LENGTH.items()}
LEVEL_OF_LENGTH = {length: level for level, length in CODE_LENGTH.items()}


class DivisionQuerySet(ScopedQuerySet):
    def visible_to(self, actor):
        """Divisions inside the actor's jurisdictions, and their ancestors (for the breadcrumb)."""
        if not actor.codes:
            return self.none()
        return self.filter(overlap_q(actor.codes, "code"))

    def inside(self, actor):
        """Only divisions within the actor's jurisdictions (no ancestors)."""
        if not actor.codes:
            return self.none()
        return self.filter(inside_q(actor.codes, {12: "code"}))


class Division(models.Model):
    code = models.CharField(_("代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.PositiveSmallIntegerField(_("级别"), choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级"),
    )

    objects = DivisionQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def ancestor_codes(self) -> list[str]:
        return codes.ancestors(self.code)


class Compound(models.Model):
    """A residential compound (小区) or village group inside a community."""

    community = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="compounds")
    name = models.CharField(_("小区"), max_length=64)
    # The community's code + "-" + 3 digits (lianfang.core.codes.compound_code), numbered in the
    # order compounds become known (those of the first migration: in name order).
    code = models.CharField(_("小区代码"), max_length=20, unique=True)

    class Meta:
        unique_together = [("community", "name")]
        verbose_name = _("小区")
        verbose_name_plural = _("小区")

    def __str__(self) -> str:
        return self.name


class Building(models.Model):
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="buildings")
    name = models.CharField(_("楼栋"), max_length=32)
    # The compound's code + "-" + 2 digits, 3 from the 100th (lianfang.core.codes.building_code).
    code = models.CharField(_("楼栋代码"), max_length=20, unique=True)

    class Meta:
        unique_together = [("compound", "name")]
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")

    def __str__(self) -> str:
        return f"{self.compound.name}{self.name}"
