"""Roles of the joint prevention and control command, and what each may see."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMANDER = "commander", _("指挥长")
    COMMAND_OFFICE = "command_office", _("指挥部办公室")
    WORKING_GROUP = "working_group", _("工作专班")
    INSPECTOR = "inspector", _("督查组")
    SAMPLER = "sampler", _("采样点/采样员")
    LAB = "lab", _("检测机构")
    TRACER = "tracer", _("流调员")
    TRANSFER = "transfer", _("转运组")
    ISOLATION = "isolation", _("隔离点/医院")
    COMMUNITY_WORKER = "community_worker", _("社区网格员")
    VOLUNTEER = "volunteer", _("志愿者")
    AUDITOR = "auditor", _("审计员")
    ADMIN = "admin", _("系统管理员")


# Roles whose work needs full ID numbers, phones and addresses: tracers call and find people,
# transfer teams and isolation facilities check them in, grid workers knock on their doors.
# Everybody else sees them masked, the same way in pages, exports, the API and drop-downs.
UNMASKED_ROLES = frozenset({Role.TRACER, Role.TRANSFER, Role.ISOLATION, Role.COMMUNITY_WORKER})


def sees_personal_data(role: str) -> bool:
    return role in UNMASKED_ROLES
