"""Mass screening: rounds, sites and labs, tubes and their members, lab results, re-check tasks.

A tube (管) is registered by its barcode, unique across all rounds; its members are samples (one
row per person per tube). Results are kept row by row (a tube may be re-run) and joined to tubes
by barcode, so a result for a tube not yet registered is simply *held* until the tube arrives.
``Tube.state`` caches the effective result of FORMATS.md's status rules for the pages; the round
report recomputes everything from samples and results.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from lianfang.accounts.scoping import Located, LocatedQuerySet, ScopedQuerySet, overlap_q
from lianfang.analytics import status as status_rules


class RoundStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    CLOSED = "closed", _("已结束")


class PoolPolicy(models.TextChoices):
    SINGLE = "single", _("单采单检")
    HOUSEHOLD = "household", _("一户一管")
    FIVE = "5", _("5混1")
    TEN = "10", _("10混1")
    TWENTY = "20", _("20混1")


class RoundQuerySet(ScopedQuerySet):
    def visible_to(self, actor):
        """A round is visible when its scope and the actor's jurisdictions overlap."""
        if not actor.codes:
            return self.none()
        return self.filter(
            pk__in=RoundScope.objects.filter(overlap_q(actor.codes, "division__code")).values("round_id")
        )


class Round(models.Model):
    code = models.CharField(_("轮次编号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    scope = models.JSONField(_("范围"), default=list, help_text=_("区划代码列表，任意级别"))
    pool_policy = models.CharField(
        _("混采策略"), max_length=16, choices=PoolPolicy.choices, default=PoolPolicy.TEN
    )
    starts_at = models.DateTimeField(_("开始时间"))
    deadline_at = models.DateTimeField(_("完成时限"))
    # The protocol edition the round was opened under: its deadline, exempt age and re-check
    # clocks come from it, whatever edition is in force later.
    edition = models.CharField(_("防控方案版本"), max_length=32, default="p9")
    status = models.CharField(_("状态"), max_length=8, choices=RoundStatus.choices, default=RoundStatus.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = RoundQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "code"]
        verbose_name = _("筛查轮次")
        verbose_name_plural = _("筛查轮次")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def protocol(self):
        """The rules the round was opened under (lianfang.protocol)."""
        from lianfang import protocol

        return protocol.edition(self.edition)

    @property
    def is_open(self) -> bool:
        return self.status == RoundStatus.OPEN


class RoundScope(models.Model):
    """The round's scope as rows, so that ``visible_to`` is one indexed query."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="scope_rows")
    division = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "division"], name="round_scope_unique")]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.division_id}"


class SiteQuerySet(LocatedQuerySet):
    located_path = ""


class Site(Located):
    """A sampling site (采样点) with its desks (采样台), in one community."""

    code = models.CharField(_("采样点编号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    desks = models.PositiveSmallIntegerField(_("采样台数"), default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("采样点")
        verbose_name_plural = _("采样点")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class LabQuerySet(ScopedQuerySet):
    def visible_to(self, actor):
        """Labs serve the whole city: any signed-in actor with a jurisdiction sees the list."""
        return self.all() if actor.codes else self.none()


class Lab(models.Model):
    code = models.CharField(_("检测机构编号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    daily_capacity = models.PositiveIntegerField(_("日检测能力（管）"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LabQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("检测机构")
        verbose_name_plural = _("检测机构")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Device(models.Model):
    """An API token bound to one sampling site or one lab: a device may only write for it."""

    token = models.OneToOneField("accounts.ApiToken", on_delete=models.CASCADE, related_name="device")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="devices")
    lab = models.ForeignKey(Lab, on_delete=models.CASCADE, null=True, blank=True, related_name="devices")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(site__isnull=False, lab__isnull=True)
                | models.Q(site__isnull=True, lab__isnull=False),
                name="device_site_xor_lab",
            )
        ]

    def __str__(self) -> str:
        return f"device {self.token_id}"


class TubePurpose(models.TextChoices):
    SCREENING = "screening", _("筛查")
    RECHECK = "recheck", _("单采复核")
    RESAMPLE = "resample", _("重采")


class TubeState(models.TextChoices):
    """A tube's effective result (the values of :mod:`lianfang.analytics.status`, which decides it)."""

    PENDING = status_rules.PENDING, _("待出结果")
    NEGATIVE = status_rules.NEGATIVE, _("阴性")
    INVALID = status_rules.INVALID, _("无效")
    ABNORMAL = status_rules.ABNORMAL, _("异常")


class TubeQuerySet(LocatedQuerySet):
    """Tubes sampled at a site inside the actor's jurisdictions."""

    located_path = "site"


class Tube(models.Model):
    # Unique and indexed through Meta: a field's unique=True / db_index=True also builds a
    # varchar_pattern_ops twin on PostgreSQL, for LIKE searches nobody runs on barcodes, and every
    # index costs each bulk insert and each state update.
    barcode = models.CharField(_("管码"), max_length=64)
    # Indexed by (round, state) below.
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="tubes", db_index=False)
    purpose = models.CharField(max_length=10, choices=TubePurpose.choices, default=TubePurpose.SCREENING)
    pool_size = models.PositiveSmallIntegerField(_("混采数"))
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="tubes")
    box_code = models.CharField(_("箱码"), max_length=64, blank=True)
    first_collected_at = models.DateTimeField(_("采样时间"))
    state = models.CharField(_("结果"), max_length=10, choices=TubeState.choices, default=TubeState.PENDING)
    # positive / inconclusive / invalid: why the tube needs a re-check (blank otherwise).
    reason = models.CharField(max_length=12, blank=True)
    resulted_at = models.DateTimeField(_("出结果时间"), null=True, blank=True)
    # A re-check / re-sample tube belongs to its task (every attempt, not only the latest).
    task = models.ForeignKey(
        "RecheckTask", on_delete=models.PROTECT, null=True, blank=True, related_name="check_tubes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TubeQuerySet.as_manager()

    class Meta:
        verbose_name = _("采样管")
        verbose_name_plural = _("采样管")
        constraints = [models.UniqueConstraint(fields=["barcode"], name="tube_barcode_unique")]
        indexes = [
            models.Index(fields=["round", "state"], name="tube_round_state"),
            models.Index(fields=["box_code"], name="tube_box_code"),
        ]

    def __str__(self) -> str:
        return self.barcode


class Sample(models.Model):
    """One person in one tube (the sampler scanned their ID after the tube's barcode)."""

    # The city's biggest table (a row per person per round): no database-level foreign keys, whose
    # row-by-row triggers doubled a round's import on PostgreSQL. Rows are only ever written by the
    # importer, which joins them to existing tubes and people; deletes go through the ORM, which
    # still applies on_delete.
    id = models.BigAutoField(primary_key=True)
    tube = models.ForeignKey(
        Tube, on_delete=models.CASCADE, related_name="samples", db_index=False, db_constraint=False
    )
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="samples", db_constraint=False
    )
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="samples", db_constraint=False)
    collected_at = models.DateTimeField(_("采样时间"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tube", "person"], name="sample_tube_person")]

    def __str__(self) -> str:
        return f"{self.tube_id}/{self.person_id}"


class ResultValue(models.TextChoices):
    NEGATIVE = status_rules.NEGATIVE, _("阴性")
    POSITIVE = status_rules.POSITIVE, _("阳性")
    INCONCLUSIVE = status_rules.INCONCLUSIVE, _("可疑")
    INVALID = status_rules.INVALID, _("无效")


class Result(models.Model):
    """One lab result row. Joined to its tube by barcode: no tube yet means *held*."""

    id = models.BigAutoField(primary_key=True)
    tube_barcode = models.CharField(_("管码"), max_length=64)  # indexed in Meta (see Tube.barcode)
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="results")
    result = models.CharField(_("结果"), max_length=12, choices=ResultValue.choices)
    ct_orf1ab = models.FloatField(null=True, blank=True)
    ct_n = models.FloatField(null=True, blank=True)
    reported_at = models.DateTimeField(_("报告时间"))
    # sha1 of the normalised row: the identical row again is a duplicate, held or not.
    fingerprint = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fingerprint"], name="result_fingerprint_unique")]
        indexes = [models.Index(fields=["tube_barcode"], name="result_tube_barcode")]
        verbose_name = _("检测结果")
        verbose_name_plural = _("检测结果")

    def __str__(self) -> str:
        return f"{self.tube_barcode} {self.result}"


class Box(models.Model):
    """A sealed transport box / bag (箱码/封包码) handed over from a site towards a lab."""

    code = models.CharField(_("箱码"), max_length=64, unique=True)
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="boxes")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="boxes")
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, null=True, blank=True, related_name="boxes")
    tubes = models.PositiveIntegerField(_("管数"), default=0)
    handed_over_at = models.DateTimeField(_("交接时间"))

    def __str__(self) -> str:
        return self.code


class TaskKind(models.TextChoices):
    RECHECK = "recheck", _("单采复核")
    RESAMPLE = "resample", _("重新采样")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("待采样")
    SAMPLED = "sampled", _("已采样待结果")
    NEGATIVE = "negative", _("复核阴性")
    POSITIVE = "positive", _("复核阳性")
    NOT_NEEDED = "not_needed", _("无需复核（另有阴性结果）")


OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.SAMPLED)


class RecheckTaskQuerySet(LocatedQuerySet):
    """Tasks assigned to a community inside the actor's jurisdictions."""

    # The task's own columns (not the Located base, whose fields differ from these in verbose
    # name and editability: inheriting would need a migration).
    located_path = ""

    def open(self):
        return self.filter(status__in=OPEN_TASK_STATUSES)


class RecheckTask(models.Model):
    """单采复核 (a member of an abnormal pool) or 重新采样 (a member of an invalid tube)."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="tasks")
    tube = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="tasks")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="recheck_tasks")
    kind = models.CharField(_("类型"), max_length=10, choices=TaskKind.choices)
    reason = models.CharField(_("原因"), max_length=12)
    # Assigned to the person's community; an unregistered person's task goes to the site's.
    community = models.ForeignKey("geo.Division", on_delete=models.PROTECT, related_name="+")
    town_code = models.CharField(max_length=9, db_index=True)
    county_code = models.CharField(max_length=6, db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    due_sample_at = models.DateTimeField(_("到达采样时限"))
    due_result_at = models.DateTimeField(_("出结果时限"))
    check_tube = models.OneToOneField(
        Tube,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="check_task",
        verbose_name=_("复核管码"),
    )
    sampled_at = models.DateTimeField(_("复核采样时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RecheckTaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_sample_at", "id"]
        verbose_name = _("复核任务")
        verbose_name_plural = _("复核任务")
        constraints = [models.UniqueConstraint(fields=["tube", "person"], name="task_tube_person")]
        indexes = [models.Index(fields=["round", "status"], name="task_round_status")]

    def __str__(self) -> str:
        return f"{self.kind} {self.tube_id}/{self.person_id}"


class PoolAlert(models.Model):
    """一键即报: an abnormal pool pushed to the command the moment its result is stored."""

    tube = models.OneToOneField(Tube, on_delete=models.PROTECT, related_name="alert")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="alerts")
    reason = models.CharField(max_length=12)
    raised_at = models.DateTimeField(_("报告时间"))
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-raised_at"]

    def __str__(self) -> str:
        return f"alert {self.tube_id}"


class PositiveFindingQuerySet(LocatedQuerySet):
    """Findings whose re-check task lies inside the actor's jurisdictions."""

    located_path = "task"


class PositiveFinding(models.Model):
    """A positive single tube: the hand-off to CDC confirmation and the tracing work."""

    task = models.OneToOneField(RecheckTask, on_delete=models.PROTECT, related_name="finding")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="findings")
    tube_barcode = models.CharField(max_length=64)
    sampled_at = models.DateTimeField()
    reported_at = models.DateTimeField()
    # Picked up by tracing (the tracing module sets it): until then the finding is awaiting.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PositiveFindingQuerySet.as_manager()

    class Meta:
        ordering = ["-reported_at"]
        verbose_name = _("复核阳性人员")
        verbose_name_plural = _("复核阳性人员")

    def __str__(self) -> str:
        return f"finding {self.task_id}"


class VisitOutcome(models.TextChoices):
    """What a grid worker found at the door of a person on a round's untested list (入户走访)."""

    SAMPLED_AT_HOME = "sampled_at_home", _("已上门采样")
    WILL_COME = "will_come", _("承诺到点采样")
    NOT_AT_HOME = "not_at_home", _("不在家")
    REFUSED = "refused", pgettext_lazy("door visit", "拒绝")
    AWAY = "away", _("已外出/不在本地")
    EXEMPT_CLAIMED = "exempt_claimed", _("申请豁免")


class DoorVisitQuerySet(LocatedQuerySet):
    """Visits to people of a community inside the actor's jurisdictions."""

    located_path = ""


class DoorVisit(Located):
    """A grid worker's visit to the door of a person untested in a round (入户走访).

    History: every visit is a new row, never changed; the latest one is what the untested list
    shows. ``community`` is the person's at the time of the visit (with its town and county codes,
    written by :func:`lianfang.screening.services.door_visit_record`).
    """

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="door_visits")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="door_visits")
    visited_at = models.DateTimeField(_("走访时间"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("走访人"),
    )
    outcome = models.CharField(_("走访结果"), max_length=16, choices=VisitOutcome.choices)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DoorVisitQuerySet.as_manager()

    class Meta:
        ordering = ["-visited_at", "-id"]
        verbose_name = _("入户走访")
        verbose_name_plural = _("入户走访")
        # A person's visits in a round, latest first: the list's latest visit, the rule's anti-join.
        indexes = [models.Index(fields=["round", "person", "visited_at"], name="visit_round_person")]

    def __str__(self) -> str:
        return f"visit {self.round_id}/{self.person_id} {self.outcome}"
