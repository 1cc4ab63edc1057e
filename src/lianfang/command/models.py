"""The command layer's records: published briefings, the problem list and its evidence."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.scoping import ScopedQuerySet


class Briefing(models.Model):
    """A daily briefing as first published for its cutoff (FORMATS.md "Daily briefing").

    ``areas`` is the published answer (corrections included) and never changes; ``standing`` is
    this window's own figures as last published — its briefing, then each correction a later
    briefing carried for it — so that the next correction carries only what changed since.
    """

    cutoff = models.DateTimeField(_("截止时间"), unique=True)
    edition = models.CharField(_("防控方案版本"), max_length=32)
    areas = models.JSONField(default=list)
    standing = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-cutoff"]
        verbose_name = _("每日疫情通报")
        verbose_name_plural = _("每日疫情通报")

    def __str__(self) -> str:
        return f"briefing {self.cutoff:%Y-%m-%d}"


class ProblemState(models.TextChoices):
    ASSIGNED = "assigned", _("交办")
    RECTIFYING = "rectifying", _("整改中")
    FIXED = "fixed", _("已整改（待核验）")
    CLOSED = "closed", _("销号")


class ProblemSource(models.TextChoices):
    INSPECTION = "inspection", _("督查发现")
    COMMAND = "command", _("指挥部交办")
    UPPER = "upper", _("上级工作组交办")
    PLATFORM = "platform", _("平台数据预警")


class ProblemQuerySet(ScopedQuerySet):
    def visible_to(self, actor):
        """Problems whose place lies inside the actor's jurisdictions, and those escalated to a
        level the actor holds (an overdue county problem on the city's list). Deny by default."""
        if not actor.codes:
            return self.none()
        q = models.Q()
        for code in actor.codes:
            q |= models.Q(division_code__startswith=code) | models.Q(escalated_to__startswith=code)
        return self.filter(q)

    def open(self):
        return self.exclude(state=ProblemState.CLOSED)


class Problem(models.Model):
    """One item of the problem list (问题清单), filed by a person or raised by the platform."""

    title = models.CharField(_("问题"), max_length=200)
    detail = models.TextField(_("详情"), blank=True)
    source = models.CharField(_("来源"), max_length=12, choices=ProblemSource.choices)
    # The raise rule and the object it concerns ("tubes_pending:R1:S1"): one open problem per key.
    rule = models.CharField(_("规则"), max_length=40, blank=True)
    key = models.CharField(max_length=200, blank=True)
    division_code = models.CharField(_("属地"), max_length=12, db_index=True)
    responsible = models.CharField(_("责任单位"), max_length=100, blank=True)
    state = models.CharField(
        _("状态"), max_length=12, choices=ProblemState.choices, default=ProblemState.ASSIGNED
    )
    deadline_at = models.DateTimeField(_("整改时限"))
    edition = models.CharField(max_length=32)
    url = models.CharField(max_length=300, blank=True)  # where the raised condition is acted on
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("交办时间"))
    # A raised problem whose condition no longer holds: proposed for closing (销号建议).
    clear_proposed_at = models.DateTimeField(_("建议销号时间"), null=True, blank=True)
    escalated_to = models.CharField(_("上报至"), max_length=12, blank=True, db_index=True)
    escalated_at = models.DateTimeField(_("上报时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)
    consultation = models.ForeignKey(
        "Consultation", on_delete=models.PROTECT, null=True, blank=True, related_name="problems"
    )

    objects = ProblemQuerySet.as_manager()

    class Meta:
        ordering = ["deadline_at", "id"]
        verbose_name = _("问题")
        verbose_name_plural = _("问题清单")
        constraints = [
            # Idempotent raising: a rule's object has at most one open problem, whoever raises it.
            models.UniqueConstraint(
                fields=["key"],
                condition=~models.Q(key="") & ~models.Q(state="closed"),
                name="problem_open_key_unique",
            )
        ]

    def __str__(self) -> str:
        return self.title


class ProblemEvent(models.Model):
    """The problem's history: every transition, who, when and why (kept, never overwritten)."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.problem_id}"


class Evidence(models.Model):
    """A photo or file attached to a problem, stored under the data directory with its hash."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="evidence")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=300)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class ScreenSnapshot(models.Model):
    """The big screen's figures for one jurisdiction and one refresh interval, computed once.

    A process that misses its own cache reads this row (one query); the first to claim the
    interval (the unique key) computes it and every other screen — in any process — is served the
    stored figures, so a hundred screens cost one computation per interval."""

    key = models.CharField(max_length=200)
    bucket = models.BigIntegerField()
    payload = models.JSONField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "bucket"], name="screen_snapshot_key_bucket")]

    def __str__(self) -> str:
        return f"{self.key}@{self.bucket}"


class GroupKind(models.TextChoices):
    COORDINATION = "coordination", _("综合协调")
    TRACING = "tracing", _("流调溯源")
    TESTING = "testing", _("核酸检测")
    TRANSFER = "transfer", _("转运隔离")
    TREATMENT = "treatment", _("医疗救治")
    COMMUNITY = "community", _("社区防控")
    SUPPLIES = "supplies", _("物资保障")
    TRAFFIC = "traffic", _("交通管控")
    PUBLICITY = "publicity", _("宣传舆情")
    INSPECTION = "inspection", _("督查督导")
    DATA = "data", _("数据")
    OTHER = "other", _("其他")


# The overdue kinds (the ``overdue.*`` facts, core/facts.py) each kind of group owns: its queue on
# the overdue board. Coordination, inspection and data groups watch every kind; groups whose work
# the platform does not track yet (traffic, publicity, other) own none.
GROUP_QUEUES: dict[str, frozenset[str] | None] = {
    GroupKind.COORDINATION: None,  # None: every kind
    GroupKind.INSPECTION: None,
    GroupKind.DATA: None,
    GroupKind.TESTING: frozenset({"recheck", "resample"}),
    GroupKind.TRACING: frozenset({"trace_core", "trace_report"}),
    GroupKind.TRANSFER: frozenset({"transfer", "test_day"}),
    GroupKind.TREATMENT: frozenset({"monitor_test_day"}),
    GroupKind.COMMUNITY: frozenset({"request", "monitor_test_day"}),
    GroupKind.SUPPLIES: frozenset({"request"}),
    GroupKind.TRAFFIC: frozenset(),
    GroupKind.PUBLICITY: frozenset(),
    GroupKind.OTHER: frozenset(),
}


class PostQuerySet(ScopedQuerySet):
    def visible_to(self, actor):
        """Posts at or inside the actor's jurisdictions, and those above them (who directs them)."""
        from lianfang.accounts.scoping import overlap_q

        if not actor.codes:
            return self.none()
        return self.filter(overlap_q(actor.codes, "division_code"))


class Post(models.Model):
    """A command post (指挥部) at one level: province, city, county or town."""

    name = models.CharField(_("名称"), max_length=100)
    division_code = models.CharField(_("区划"), max_length=12, db_index=True)
    created_at = models.DateTimeField()

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["division_code", "name"]
        constraints = [models.UniqueConstraint(fields=["division_code", "name"], name="post_division_name")]

    def __str__(self) -> str:
        return self.name


class WorkingGroup(models.Model):
    """A working group (专班) of a post; dissolved or merged, never deleted (history kept)."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="groups")
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=16, choices=GroupKind.choices)
    created_at = models.DateTimeField()
    dissolved_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["post", "kind", "name"]

    def __str__(self) -> str:
        return self.name


class MemberRole(models.TextChoices):
    LEAD = "lead", _("组长")
    DEPUTY = "deputy", _("副组长")
    MEMBER = "member", _("成员")
    LIAISON = "liaison", _("联络员")


class Membership(models.Model):
    """A person's place in a group for a time: re-staffing ends one and starts another."""

    group = models.ForeignKey(WorkingGroup, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("职务"), max_length=10, choices=MemberRole.choices)
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["group", "joined_at", "id"]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.group_id}"


class DirectiveQuerySet(ScopedQuerySet):
    def visible_to(self, actor):
        if not actor.codes:
            return self.none()
        q = models.Q()
        for code in actor.codes:
            q |= models.Q(to_post__division_code__startswith=code) | models.Q(
                from_post__division_code__startswith=code
            )
        return self.filter(q)


class Directive(models.Model):
    """An instruction from an upper post to a lower one: sent → acknowledged → reported back."""

    from_post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="sent")
    to_post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="received")
    title = models.CharField(_("指令"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    edition = models.CharField(max_length=32)
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    ack_due_at = models.DateTimeField(_("签收时限"))
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reported_at = models.DateTimeField(null=True, blank=True)
    report = models.TextField(_("反馈"), blank=True)
    consultation = models.ForeignKey(
        "Consultation", on_delete=models.PROTECT, null=True, blank=True, related_name="directives"
    )

    objects = DirectiveQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "id"]

    def __str__(self) -> str:
        return self.title


class ConsultationQuerySet(ScopedQuerySet):
    def visible_to(self, actor):
        if not actor.codes:
            return self.none()
        q = models.Q()
        for code in actor.codes:
            q |= models.Q(post__division_code__startswith=code)
        return self.filter(q)


class Consultation(models.Model):
    """A consultation (会商) held by a post: its agenda as assembled when it opened (frozen), who
    attended, and its decisions (problems and directives that name it)."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="consultations")
    title = models.CharField(_("会商"), max_length=200)
    held_at = models.DateTimeField(_("时间"))
    agenda = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    objects = ConsultationQuerySet.as_manager()

    class Meta:
        ordering = ["-held_at", "id"]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="attendance")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="+")
    present = models.BooleanField(default=True)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consultation", "post"], name="attendance_once")]

    def __str__(self) -> str:
        return f"{self.post_id}@{self.consultation_id}"
