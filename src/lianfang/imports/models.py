"""A file upload imported in the background, with progress and its outcome."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("导入中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, actor):
        """A job is seen by the user who uploaded it (its rejects file holds their rows)."""
        if actor.user is None:
            return self.none()
        return self.filter(user=actor.user)


class ImportJob(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("类型"), max_length=16, default="persons")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    file_path = models.CharField(max_length=500)
    original_name = models.CharField(_("文件名"), max_length=255)
    status = models.CharField(_("状态"), max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    rejects_path = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0


class WorkerBeat(models.Model):
    """A background worker (``lianfang worker``) saying it is alive, every few seconds: a page whose
    job is queued tells the user when no worker has been heard from (imports.services.worker_running)."""

    name = models.CharField(max_length=200, primary_key=True)  # host:pid
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("后台任务进程")
        verbose_name_plural = _("后台任务进程")

    def __str__(self) -> str:
        return self.name


class PeriodicRun(models.Model):
    """One interval of a timed job (``core.plugins.Periodic``), claimed by the worker that runs it:
    the unique (name, slot) row is the claim, so two workers never run one interval twice."""

    name = models.CharField(_("任务"), max_length=64)
    slot = models.BigIntegerField()  # the interval: the Unix time of its start // every_seconds
    worker = models.CharField(_("进程"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("开始"), db_index=True)
    finished_at = models.DateTimeField(_("结束"), null=True, blank=True)
    outcome = models.CharField(_("结果"), max_length=500, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("定时任务运行")
        verbose_name_plural = _("定时任务运行")
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="periodic_run_once")]
        indexes = [models.Index(fields=["name", "-started_at"], name="periodic_run_latest")]

    def __str__(self) -> str:
        return f"{self.name}#{self.slot}"
