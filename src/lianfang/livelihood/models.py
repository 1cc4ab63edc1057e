"""Residents' requests (保民生): food packages from a catalogue, medicine and urgent medical care,
from community workers, the 12345 hotline or the resident's own page, carried to the door."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.scoping import Located, LocatedQuerySet


class Kind(models.TextChoices):
    FOOD = "food", _("生活物资套餐")
    MEDICINE = "medicine", _("药品")
    DIALYSIS = "dialysis", _("透析")
    LABOUR = "labour", _("孕产妇就医")
    EMERGENCY = "emergency", _("急症就医")


class Urgency(models.TextChoices):
    URGENT = "urgent", _("紧急")
    PRIORITY = "priority", _("优先")
    NORMAL = "normal", _("一般")


# What each kind is at least; a worker or operator may raise it, never lower it.
KIND_URGENCY = {
    Kind.FOOD: Urgency.NORMAL,
    Kind.MEDICINE: Urgency.PRIORITY,
    Kind.DIALYSIS: Urgency.URGENT,
    Kind.LABOUR: Urgency.URGENT,
    Kind.EMERGENCY: Urgency.URGENT,
}
URGENCY_RANK = {Urgency.URGENT: 0, Urgency.PRIORITY: 1, Urgency.NORMAL: 2}


class Source(models.TextChoices):
    WORKER = "worker", _("社区工作人员")
    HOTLINE = "hotline", _("12345热线")
    RESIDENT = "resident", _("居民自助")


class Status(models.TextChoices):
    NEW = "new", _("待受理")
    ACCEPTED = "accepted", _("已受理")
    ASSIGNED = "assigned", _("已派单")
    DELIVERED = "delivered", _("已送达")
    CLOSED = "closed", _("已办结")


OPEN_STATUSES = (Status.NEW, Status.ACCEPTED, Status.ASSIGNED)


class Package(models.Model):
    """A set package of the city's shop (供供套餐), as the catalogue offers it."""

    code = models.CharField(_("套餐编号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    contents = models.CharField(_("内容"), max_length=300, blank=True)
    price_yuan = models.DecimalField(_("价格（元）"), max_digits=8, decimal_places=2, default=0)
    active = models.BooleanField(_("在售"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("套餐")
        verbose_name_plural = _("套餐")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RequestQuerySet(LocatedQuerySet):
    located_path = ""


class Request(Located):
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="livelihood_requests"
    )
    name = models.CharField(_("姓名"), max_length=64)
    phone = models.CharField(_("手机号"), max_length=20)
    address = models.CharField(_("住址"), max_length=200)
    building = models.CharField(_("楼栋"), max_length=64, blank=True)
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices)
    package = models.ForeignKey(Package, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    detail = models.CharField(_("需求说明"), max_length=500, blank=True)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.NEW)
    edition = models.CharField(_("防控方案版本"), max_length=32)
    filed_at = models.DateTimeField(_("提交时间"))
    accept_due_at = models.DateTimeField(_("受理时限"))
    deliver_due_at = models.DateTimeField(_("送达时限"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    proof = models.CharField(_("送达凭证"), max_length=200, blank=True)  # "code" or the photo's stored name
    # The resident's confirmation code, hashed: the deliverer types the code the resident reads out.
    confirmation_hash = models.CharField(max_length=128, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("升级时间"), null=True, blank=True)

    objects = RequestQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["county_code", "status", "filed_at"], name="lv_request_board_idx"),
            models.Index(fields=["status", "accept_due_at"], name="lv_request_due_idx"),
            models.Index(fields=["community", "building"], name="lv_request_building_idx"),
        ]
        verbose_name = _("民生诉求")
        verbose_name_plural = _("民生诉求")

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class ResidentCode(models.Model):
    """A one-time code sent to a resident's phone for the resident page (no login)."""

    phone = models.CharField(max_length=20, db_index=True)
    community = models.ForeignKey("geo.Division", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.phone[-4:]}@{self.community_id}"
