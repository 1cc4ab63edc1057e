"""What accounts add to the platform: who may read the audit log."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import AuditObject, Plugin

PLUGIN = Plugin(
    app="accounts",
    verbs={"audit.read": frozenset({Role.AUDITOR})},
    audit_objects={
        "user": AuditObject(_("用户")),
        "api_token": AuditObject(_("API 令牌")),
        "audit_log": AuditObject(_("审计日志")),
    },
    audit_fields={
        "op": _("操作"),
        "name": _("名称"),
        "holder": _("持有人"),
        "prefix": _("前缀"),
        "path": _("登录入口"),
        "role": _("角色"),
        "is_active": _("启用"),
        "is_staff": _("后台权限"),
        "password": _("密码"),
        "jurisdictions_added": _("新增辖区"),
        "jurisdictions_removed": _("移除辖区"),
        "filters": _("筛选条件"),
        "format": _("格式"),
        "rows": _("行数"),
        "page": _("页码"),
        "count": _("条数"),
        "masked": _("已脱敏"),
        "api": _("经 API"),
        "q": _("搜索词"),
        "hits": _("结果数"),
        "source": _("文件"),
        "read": _("读取"),
        "accepted": _("接受"),
        "duplicate": _("重复"),
        "held": _("暂存"),
        "rejected": _("拒绝"),
        "created": _("新建"),
        "reasons": _("拒绝原因"),
    },
)
