"""Users with a role and jurisdictions, device tokens and the audit log (login throttling: django-axes)."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.codes import CITY, LENGTH

CITY_CODE_LENGTH = LENGTH[CITY]


class User(AbstractUser):
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, default=Role.VOLUNTEER)
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    unit = models.CharField(_("单位"), max_length=128, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Jurisdiction(models.Model):
    """One division (any level) a user answers for; a user may hold several."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="jurisdictions")
    division = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, related_name="+", verbose_name=_("辖区")
    )

    class Meta:
        unique_together = [("user", "division")]
        verbose_name = _("辖区")
        verbose_name_plural = _("辖区")

    def __str__(self) -> str:
        return f"{self.user} → {self.division_id}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A device or script credential: stored as a hash, shown once, revocable, acts as its user."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("用户")
    )
    name = models.CharField(_("设备/用途"), max_length=64)
    prefix = models.CharField(_("前缀"), max_length=12, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditAction(models.TextChoices):
    VIEW = "view", _("查看")
    SEARCH = "search", _("搜索")
    EXPORT = "export", _("导出")
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    IMPORT = "import", _("导入")
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    TOKEN = "token", _("令牌")


class AuditEventQuerySet(models.QuerySet):
    def visible_to(self, actor):
        """Events of the actor's jurisdiction: those whose ``area`` lies inside it. Events of no
        area (the CLI, a failed login naming nobody, users spanning provinces) belong to the city
        and above: only an auditor holding a city or a province reads them."""
        if not actor.codes:
            return self.none()
        cond = models.Q()
        for code in actor.codes:
            cond |= models.Q(area__startswith=code)
        if any(len(code) <= CITY_CODE_LENGTH for code in actor.codes):
            cond |= models.Q(area="")
        return self.filter(cond)

    def update(self, **kwargs):
        raise PermissionError("the audit log is append-only / 审计日志只能追加")

    def delete(self):
        raise PermissionError("the audit log is append-only / 审计日志只能追加")


class AuditEvent(models.Model):
    """Who did what to which personal data, when and from where. Append-only."""

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    username = models.CharField(_("用户名"), max_length=150, blank=True)
    token = models.ForeignKey(ApiToken, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    action = models.CharField(_("操作"), max_length=16, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=32, blank=True)
    object_id = models.CharField(_("对象"), max_length=64, blank=True, db_index=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    # Whose jurisdiction the event belongs to (the smallest division holding the actor's): a county
    # auditor reads their county's events.
    area = models.CharField(_("辖区"), max_length=12, blank=True, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.get_action_display()} {self.object_id}".strip()

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("the audit log is append-only / 审计日志只能追加")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only / 审计日志只能追加")
