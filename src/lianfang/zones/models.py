"""Risk zones: the zone, its history of changes (never overwritten), its area as rows for
scoping, and the proposals a commander signs or rejects."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.scoping import ScopedQuerySet, inside_q


class ZoneQuerySet(ScopedQuerySet):
    def visible_to(self, actor):
        """A zone is visible when one of its communities lies in the actor's jurisdictions."""
        if not actor.codes:
            return self.none()
        return self.filter(pk__in=ZoneArea.objects.within(actor.codes).values("zone_id"))

    def within(self, area):
        return self.filter(pk__in=ZoneArea.objects.within(tuple(area)).values("zone_id"))


class Zone(models.Model):
    """A zone as it stands now (its last change); ``ZoneChange`` rows are its history."""

    code = models.CharField(_("区域编号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    type = models.CharField(_("类型"), max_length=16)
    area = models.JSONField(_("范围"), default=list, help_text=_("社区（村）、小区或楼栋代码列表"))
    designated_at = models.DateTimeField(_("划定时间"))
    changed_at = models.DateTimeField(_("最近变更时间"))
    type_since = models.DateTimeField(_("类型起始时间"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ZoneQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("风险区域")
        verbose_name_plural = _("风险区域")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ZoneAreaQuerySet(models.QuerySet):
    def within(self, area):
        area = tuple(area)
        if not area:
            return self.none()
        return self.filter(inside_q(area, {6: "county_code", 9: "town_code", 12: "community_id"}))


class ZoneArea(models.Model):
    """The zone's area entries as rows (its current area), so that ``visible_to`` is one indexed
    query: each entry's community (the scoping, whatever the entry), and for an entry below the
    community its compound or building code (``place_code``; null for a whole community)."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="area_rows")
    community = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+")
    town_code = models.CharField(max_length=9, db_index=True)
    county_code = models.CharField(max_length=6, db_index=True)
    place_code = models.CharField(_("小区或楼栋代码"), max_length=20, null=True, blank=True)

    objects = ZoneAreaQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "community"],
                condition=models.Q(place_code__isnull=True),
                name="zone_area_unique",
            ),
            models.UniqueConstraint(
                fields=["zone", "place_code"],
                condition=models.Q(place_code__isnull=False),
                name="zone_area_place_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.zone_id}:{self.place_code or self.community_id}"


class Source(models.TextChoices):
    FILE = "file", _("文件导入")
    FORM = "form", _("页面划定")
    PROPOSAL = "proposal", _("签发建议")


class ZoneChange(models.Model):
    """One accepted designation, change or lift, at ``designated_at``; never updated or deleted."""

    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="changes")
    type = models.CharField(_("类型"), max_length=16)
    name = models.CharField(_("名称"), max_length=100)
    area = models.JSONField(_("范围"), default=list)
    designated_at = models.DateTimeField(_("生效时间"))
    type_changed = models.BooleanField(_("类型变更"), default=True)
    # The edition in force when the change was recorded (its regime follows the type).
    edition = models.CharField(_("防控方案版本"), max_length=32)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["zone_id", "designated_at"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "designated_at"], name="zone_change_time_unique")
        ]
        verbose_name = _("区域变更")
        verbose_name_plural = _("区域变更")

    def __str__(self) -> str:
        return f"{self.zone_id}@{self.designated_at:%Y-%m-%d %H:%M} {self.type}"


class ProposalStatus(models.TextChoices):
    OPEN = "open", _("待签发")
    SIGNED = "signed", _("已签发")
    REJECTED = "rejected", _("已驳回")
    WITHDRAWN = "withdrawn", _("条件不再满足")


class ZoneProposal(models.Model):
    """What the platform proposes when a zone's conditions hold (lift, downgrade, upgrade): a
    commander signs it (a change is recorded) or rejects it with a reason. Never automatic."""

    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="proposals")
    action = models.CharField(_("建议"), max_length=10)
    from_type = models.CharField(_("原类型"), max_length=16)
    to_type = models.CharField(_("建议类型"), max_length=16)
    clock_from = models.DateTimeField(_("计时起点"))
    proposed_at = models.DateTimeField(_("提出时间"))
    basis = models.JSONField(_("依据"), default=dict)
    edition = models.CharField(_("防控方案版本"), max_length=32)
    status = models.CharField(
        _("状态"), max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("签发时间"), null=True, blank=True)
    reason = models.CharField(_("驳回理由"), max_length=200, blank=True)
    change = models.OneToOneField(
        ZoneChange, on_delete=models.PROTECT, null=True, blank=True, related_name="proposal"
    )

    class Meta:
        ordering = ["-proposed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["zone"], condition=models.Q(status="open"), name="zone_one_open_proposal"
            )
        ]
        verbose_name = _("区域调整建议")
        verbose_name_plural = _("区域调整建议")

    def __str__(self) -> str:
        return f"{self.zone_id} {self.action} {self.status}"
