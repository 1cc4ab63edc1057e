"""Switches of the protocol edition in force: history, never overwritten."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EditionSwitchQuerySet(models.QuerySet):
    def visible_to(self, actor):
        """The edition in force is everybody's rule: every signed-in actor with a jurisdiction."""
        return self.all() if actor.codes else self.none()

    def update(self, **kwargs):
        raise PermissionError("edition switches are history / 方案版本切换记录只能追加")

    def delete(self):
        raise PermissionError("edition switches are history / 方案版本切换记录只能追加")


class EditionSwitch(models.Model):
    edition = models.CharField(_("方案版本"), max_length=32)
    previous = models.CharField(_("原版本"), max_length=32)
    switched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    switched_at = models.DateTimeField(_("切换时间"), default=timezone.now, db_index=True)
    reason = models.TextField(_("依据"))

    objects = EditionSwitchQuerySet.as_manager()

    class Meta:
        ordering = ["-switched_at", "-id"]
        verbose_name = _("方案版本切换")
        verbose_name_plural = _("方案版本切换")

    def __str__(self) -> str:
        return f"{self.previous} → {self.edition} ({self.switched_at:%Y-%m-%d %H:%M})"
