"""The back office's view of background tasks, in the product's language: what each task is (an
upload's import), its state, and for a failed one the error (issue 11, item 7)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

# What each task of ours does, as an operator reads it.
TASK_LABELS = {"lianfang.imports.tasks.run_import_job": _("导入上传的文件")}


# What the breadcrumbs call a task result (the library says "DBTaskResult object (<uuid>)").
DBTaskResult.__str__ = lambda self: (
    f"{TASK_LABELS.get(self.task_path, self.task_path)} · {self.enqueued_at:%Y-%m-%d %H:%M}"
)

if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(DBTaskResultAdmin):
    list_display = ("task", "status", "enqueued_at", "started_at", "finished_at", "outcome")
    list_filter = ("status",)

    def get_readonly_fields(self, request, obj=None):
        return ["task", "status", "enqueued_at", "started_at", "finished_at", "outcome", "error", "arguments"]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description=_("任务"), ordering="task_path")
    def task(self, obj):
        label = TASK_LABELS.get(obj.task_path)
        return f"{label}（{obj.task_path.rsplit('.', 1)[-1]}）" if label else obj.task_path

    @admin.display(description=_("结果"))
    def outcome(self, obj):
        if obj.exception_class_path:
            return _("出错：%(error)s") % {"error": obj.exception_class_path.rsplit(".", 1)[-1]}
        if obj.finished_at:
            return _("完成")
        return "—"

    @admin.display(description=_("参数"))
    def arguments(self, obj):
        args = (obj.args_kwargs or {}).get("args") or []
        kwargs = (obj.args_kwargs or {}).get("kwargs") or {}
        return "，".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())]) or "—"

    @admin.display(description=_("错误详情"))
    def error(self, obj):
        return format_html("<pre>{}</pre>", obj.traceback) if obj.traceback else "—"
