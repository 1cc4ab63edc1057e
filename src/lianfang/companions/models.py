"""A companions run from the web (a pings file computed in the background) and its result rows,
reviewed by tracers and confirmed in bulk into contacts of category ``companion``.

Scoping (deny by default): a run is seen by the user who started it (like an import job); a result
row by the users whose jurisdiction holds its case's community or its matched person's community.
Deciding on a row (confirm, dismiss) needs authority over the case's (``case_within``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.scoping import Actor, ScopedQuerySet, inside_q

# The case's located columns and the matched person's, by the length of the codes they hold.
CASE_COLUMNS = {6: "case_county_code", 9: "case_town_code", 12: "case_community_code"}
PERSON_COLUMNS = {6: "county_code", 9: "town_code", 12: "community_code"}


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("计算中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class CompanionRunQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor):
        """A run is seen by the user who started it (its file holds their upload)."""
        if actor.user is None:
            return self.none()
        return self.filter(user=actor.user)


class CompanionRun(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    file_path = models.CharField(max_length=500)
    original_name = models.CharField(_("文件名"), max_length=255)
    case_codes = models.JSONField(_("病例"), default=list, blank=True)  # [] = every case the user sees
    status = models.CharField(_("状态"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    percent = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    edition = models.CharField(_("防控方案版本"), max_length=32, blank=True)
    cases = models.PositiveIntegerField(default=0)  # the cases considered
    overlaps = models.PositiveIntegerField(default=0)  # rows of companions.csv
    matches = models.PositiveIntegerField(default=0)  # result rows (one per case and person key)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CompanionRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("时空伴随计算")
        verbose_name_plural = _("时空伴随计算")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"


class MatchStatus(models.TextChoices):
    PENDING = "pending", _("待确认")
    CONFIRMED = "confirmed", _("已确认")
    DISMISSED = "dismissed", _("已排除")


class CompanionMatchQuerySet(ScopedQuerySet):
    def visible_to(self, actor: Actor):
        """Rows whose case, or whose matched person, lies in the actor's jurisdiction."""
        if not actor.codes:
            return self.none()
        return self.filter(inside_q(actor.codes, CASE_COLUMNS) | inside_q(actor.codes, PERSON_COLUMNS))

    def case_within(self, actor: Actor):
        """Rows whose case lies in the actor's jurisdiction: those the actor may decide on."""
        if not actor.codes:
            return self.none()
        return self.filter(inside_q(actor.codes, CASE_COLUMNS))


class CompanionMatch(models.Model):
    """One person key found beside one case in one run: its overlaps summed (FORMATS.md rows)."""

    run = models.ForeignKey(CompanionRun, on_delete=models.CASCADE, related_name="rows")
    case_code = models.CharField(_("病例编号"), max_length=32)
    case_community_code = models.CharField(max_length=12, blank=True)
    case_town_code = models.CharField(max_length=9, blank=True, db_index=True)
    case_county_code = models.CharField(max_length=6, blank=True, db_index=True)
    person_key = models.CharField(_("信令号码"), max_length=64)  # ID number or phone, as in the pings
    key_kind = models.CharField(max_length=10)  # "id_number" | "phone"
    # The registry's person for the key (ID number, else a phone held by one person only).
    person = models.ForeignKey(
        "people.Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    id_type = models.CharField(_("证件类型"), max_length=16, blank=True)
    id_number = models.CharField(_("证件号码"), max_length=32, blank=True)
    name = models.CharField(_("姓名"), max_length=64, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    community_code = models.CharField(max_length=12, blank=True)
    town_code = models.CharField(max_length=9, blank=True, db_index=True)
    county_code = models.CharField(max_length=6, blank=True, db_index=True)
    minutes = models.DecimalField(_("伴随时长（分钟）"), max_digits=10, decimal_places=1)
    overlaps = models.PositiveIntegerField(_("重叠次数"))
    cells = models.CharField(_("基站小区"), max_length=500)
    first_at = models.DateTimeField(_("首次重叠"))
    last_at = models.DateTimeField(_("末次重叠结束"))
    status = models.CharField(
        _("状态"), max_length=10, choices=MatchStatus.choices, default=MatchStatus.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = CompanionMatchQuerySet.as_manager()

    class Meta:
        ordering = ["case_code", "-minutes", "person_key"]
        constraints = [
            models.UniqueConstraint(fields=["run", "case_code", "person_key"], name="companion_match_unique")
        ]

    def __str__(self) -> str:
        return f"{self.case_code} {self.person_key}"
