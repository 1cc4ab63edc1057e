"""Cases, the contact rows as tracers sent them, the merged contact per person, trace tasks.

Scoping (deny by default): a case lies in its community (the one reported, else the registry's
for its ID number); a contact in the merged community (else the registry's), and the tracers of
the source case's jurisdiction see the contacts they traced too; a trace task where its case
lies. A row with no known community is seen by the server's authority only (the CLI).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.scoping import LOCATED_COLUMNS, Actor, LocatedQuerySet, inside_q


class Classification(models.TextChoices):
    CONFIRMED = "confirmed", _("确诊")
    ASYMPTOMATIC = "asymptomatic", _("无症状")


class FoundIn(models.TextChoices):
    QUARANTINE = "quarantine", _("隔离中发现")
    CONTROLLED_AREA = "controlled_area", _("管控区内发现")
    SCREENING = "screening", _("区域筛查发现")
    CLINIC = "clinic", _("发热门诊/医院发现")
    OTHER = "other", _("其他")


SOCIETY = frozenset({FoundIn.SCREENING, FoundIn.CLINIC, FoundIn.OTHER})  # 社会面


class Severity(models.TextChoices):
    MILD = "mild", _("轻型")
    MODERATE = "moderate", _("普通型")
    SEVERE = "severe", _("重型")
    CRITICAL = "critical", _("危重型")


class Category(models.TextChoices):
    CLOSE = "close", _("密接")
    SECONDARY = "secondary", _("次密接")
    COMPANION = "companion", _("时空伴随")
    VENUE = "venue", _("场所暴露")
    GENERAL = "general", _("一般接触")


class Source(models.TextChoices):
    FILE = "file", _("文件导入")
    SCREENING = "screening", _("筛查移交")
    FORM = "form", _("手工录入")


class Placement(models.TextChoices):
    FANGCANG = "fangcang", _("方舱医院")
    DESIGNATED_HOSPITAL = "designated_hospital", _("定点医院")


class CaseQuerySet(LocatedQuerySet):
    located_path = ""


class Case(models.Model):
    """One infected person (确诊 or 无症状), as the CDC reported it, with its conversion history."""

    case_code = models.CharField(_("病例编号"), max_length=32, unique=True)
    id_type = models.CharField(_("证件类型"), max_length=16)
    id_number = models.CharField(_("证件号码"), max_length=32, db_index=True)
    name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # At report; a later conversion is ``confirmed_at`` (its history in CaseConversion).
    classification_at_report = models.CharField(
        _("报告时分类"), max_length=12, choices=Classification.choices
    )
    confirmed_at = models.DateTimeField(_("转确诊时间"), null=True, blank=True)
    onset_date = models.DateField(_("发病日期"), null=True, blank=True)
    first_positive_sampled_at = models.DateTimeField(_("首次阳性采样时间"))
    reported_at = models.DateTimeField(_("报告时间"), db_index=True)
    found_in = models.CharField(_("发现途径"), max_length=16, choices=FoundIn.choices)
    severity = models.CharField(_("病情分型"), max_length=10, choices=Severity.choices, blank=True)
    # As reported (may be blank or a code the tree does not know); the located columns below are
    # the community the case lies in (reported if known, else the registry's).
    community_code = models.CharField(_("报告社区代码"), max_length=12, blank=True)
    community = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    town_code = models.CharField(max_length=9, blank=True, db_index=True)
    county_code = models.CharField(max_length=6, blank=True, db_index=True)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices, default=Source.FILE)
    finding_id = models.BigIntegerField(null=True, blank=True, unique=True)  # screening's PositiveFinding
    edition = models.CharField(_("防控方案版本"), max_length=32)
    # Placement: the protocol's proposal, then a clinician's decision (an override needs a reason).
    placement_proposed = models.CharField(_("建议收治"), max_length=20, choices=Placement.choices, blank=True)
    placement = models.CharField(_("收治去向"), max_length=20, choices=Placement.choices, blank=True)
    placement_reason = models.CharField(_("改变建议的理由"), max_length=500, blank=True)
    placement_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    placement_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at", "case_code"]
        verbose_name = _("病例")
        verbose_name_plural = _("病例")

    def __str__(self) -> str:
        return self.case_code

    @property
    def classification(self) -> str:
        """Now: confirmed once converted."""
        if self.confirmed_at is not None:
            return Classification.CONFIRMED
        return self.classification_at_report

    @property
    def in_society(self) -> bool:
        return self.found_in in SOCIETY


class CaseConversion(models.Model):
    """An asymptomatic case confirmed at ``converted_at`` (kept: a correction adds a row)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="conversions")
    converted_at = models.DateTimeField(_("转确诊时间"))
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} converted {self.converted_at:%Y-%m-%d %H:%M}"


class ContactRowQuerySet(LocatedQuerySet):
    located_path = "case"


class ContactRow(models.Model):
    """A contacts.csv row (or a form's contact) as it came; the merged person is ``Contact``."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contact_rows")
    case_code = models.CharField(_("病例编号"), max_length=32)
    category = models.CharField(_("类别"), max_length=10, choices=Category.choices)
    id_type = models.CharField(_("证件类型"), max_length=16)
    id_number = models.CharField(_("证件号码"), max_length=32)
    name = models.CharField(_("姓名"), max_length=64)
    via_id_number = models.CharField(_("密接者证件号码"), max_length=32, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    community_code = models.CharField(_("社区代码"), max_length=12, blank=True)
    place = models.CharField(_("接触地点"), max_length=200, blank=True)
    last_exposure_at = models.DateTimeField(_("末次暴露时间"))
    registered_at = models.DateTimeField(_("登记时间"))
    edition = models.CharField(_("防控方案版本"), max_length=32)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.FILE)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ContactRowQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case_code", "category", "id_type", "id_number", "last_exposure_at"],
                name="contact_row_unique",
            )
        ]
        indexes = [models.Index(fields=["id_type", "id_number"], name="contact_row_key_idx")]

    def __str__(self) -> str:
        return f"{self.case_code} {self.category} {self.id_number}"


class ContactQuerySet(LocatedQuerySet):
    located_path = ""

    def visible_to(self, actor: Actor):
        """The contact's own community, or the source case's (the tracers who traced them)."""
        if not actor.codes:
            return self.none()
        case_columns = {length: f"case__{column}" for length, column in LOCATED_COLUMNS.items()}
        return self.filter(inside_q(actor.codes) | inside_q(actor.codes, case_columns))


class Contact(models.Model):
    """One person under a contact's plan: the merge of their rows (FORMATS.md, contacts.csv).

    Stored for pages and scoping; recomputed from the rows on every change. The plans report and
    the facts compute the merge again from the rows (``rules.merge``), at any time T."""

    id_type = models.CharField(_("证件类型"), max_length=16)
    id_number = models.CharField(_("证件号码"), max_length=32)
    name = models.CharField(_("姓名"), max_length=64)
    category = models.CharField(_("类别"), max_length=10, choices=Category.choices)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contacts")
    via_id_number = models.CharField(_("密接者证件号码"), max_length=32, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    community_code = models.CharField(_("社区代码"), max_length=12, blank=True)
    place = models.CharField(_("接触地点"), max_length=200, blank=True)
    last_exposure_at = models.DateTimeField(_("末次暴露时间"))
    registered_at = models.DateTimeField(_("登记时间"))
    edition = models.CharField(_("防控方案版本"), max_length=32)
    community = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    town_code = models.CharField(max_length=9, blank=True, db_index=True)
    county_code = models.CharField(max_length=6, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["id_type", "id_number"]
        constraints = [models.UniqueConstraint(fields=["id_type", "id_number"], name="contact_key_unique")]
        indexes = [models.Index(fields=["id_number"], name="contact_idnum_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.category})"


class TraceTaskQuerySet(LocatedQuerySet):
    located_path = "case"


class TraceTask(models.Model):
    """The trace of one case, with the protocol's clocks (core trace, preliminary report)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="trace_task")
    team = models.CharField(_("流调小组"), max_length=100, blank=True)
    opened_at = models.DateTimeField(_("开始时间"))
    core_due_at = models.DateTimeField(_("核心信息时限"))
    report_due_at = models.DateTimeField(_("初步报告时限"))
    core_done_at = models.DateTimeField(_("核心信息完成时间"), null=True, blank=True)
    report_done_at = models.DateTimeField(_("初步报告完成时间"), null=True, blank=True)
    # The exposure window: from the protocol's days before onset (or first positive sampling)
    # to the case's isolation (its report, unless the tracer records the isolation time).
    exposure_from = models.DateTimeField(_("暴露期起"))
    exposure_to = models.DateTimeField(_("暴露期止"))
    places = models.TextField(_("活动轨迹"), blank=True)
    edition = models.CharField(_("防控方案版本"), max_length=32)

    objects = TraceTaskQuerySet.as_manager()

    class Meta:
        ordering = ["core_due_at"]

    def __str__(self) -> str:
        return f"trace {self.case_id}"

    def is_late(self, at) -> dict[str, bool]:
        return {
            "core": self.core_done_at is None and self.core_due_at <= at,
            "report": self.report_done_at is None and self.report_due_at <= at,
        }
