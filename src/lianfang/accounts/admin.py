"""The back office: users, roles, jurisdictions, device tokens; the audit log read-only.

The registry of people is deliberately not in the admin: personal data is only reached through
the scoped, masked and audited pages and API.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.audit_text import detail_text, object_label
from lianfang.accounts.models import ApiToken, AuditEvent, Jurisdiction, User
from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import actor_of
from lianfang.accounts.services import token_issue, token_revoke, user_changes_audit

# Changes to these fields of a user are audited (with jurisdiction changes): who may do and see what.
AUDITED_USER_FIELDS = ("role", "is_active", "is_staff", "is_superuser", "username", "unit")


def _admin_only(request) -> bool:
    user = request.user
    return user.is_active and user.is_staff and (user.role == Role.ADMIN or user.is_superuser)


admin.site.has_permission = _admin_only
admin.site.site_header = _("联防 Lianfang 后台管理")
admin.site.site_title = _("联防 Lianfang")
admin.site.index_title = _("后台管理")

# Roles and jurisdictions replace Django's groups and per-model permissions (accounts.backends):
# the back office does not offer them, so nobody maintains a second, unused rights model.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)

# django-axes keeps no access log and no failure log here (settings.AXES_*): only the attempts that
# count towards a lock, which an administrator may clear to unlock a login.
from axes.admin import AccessAttemptAdmin as _AxesAttemptAdmin  # noqa: E402
from axes.models import AccessAttempt, AccessFailureLog, AccessLog  # noqa: E402

for _model in (AccessLog, AccessFailureLog, AccessAttempt):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
# What the lists and breadcrumbs call an attempt (axes says "Attempted Access: <UTC time>").
AccessAttempt.__str__ = lambda self: (
    f"{self.username} · {timezone.localtime(self.attempt_time):%Y-%m-%d %H:%M:%S}"
)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(_AxesAttemptAdmin):
    """Logins that failed and count towards a lock; deleting one unlocks that login at once."""

    @admin.display(description=_("状态"))
    def status(self, obj):
        return super().status(obj)


# Section headers of the apps we do not own, in the product's language.
for _label, _name in (("django_tasks_database", _("后台任务")), ("axes", _("登录限制"))):
    try:
        apps.get_app_config(_label).verbose_name = _name
    except LookupError:
        pass


class JurisdictionInline(admin.TabularInline):
    model = Jurisdiction
    extra = 1
    autocomplete_fields = ["division"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username",
        "display_name",
        "role",
        "unit",
        "jurisdiction_codes",
        "is_active",
        "last_login",
    ]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "unit"]
    inlines = [JurisdictionInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("联防"), {"fields": ("display_name", "role", "unit")}),
        (_("账号状态"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    filter_horizontal = ()
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("联防"), {"fields": ("role", "display_name", "unit")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("jurisdictions")

    def save_model(self, request, obj, form, change):
        request._lianfang_jurisdictions_before = (
            set(obj.jurisdictions.values_list("division_id", flat=True)) if change else set()
        )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        changed = {f: form.cleaned_data.get(f) for f in form.changed_data if f in AUDITED_USER_FIELDS}
        if "password1" in form.changed_data or "password" in form.changed_data:
            changed["password"] = "set"
        user_changes_audit(
            actor=actor_of(request),
            user=form.instance,
            created=not change,
            changed=changed,
            before=getattr(request, "_lianfang_jurisdictions_before", set()),
        )

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, id)
            before = set(user.jurisdictions.values_list("division_id", flat=True))
            user_changes_audit(
                actor=actor_of(request), user=user, created=False, changed={"password": "set"}, before=before
            )
        return response

    @admin.display(description=_("辖区"))
    def jurisdiction_codes(self, obj):
        return ", ".join(j.division_id for j in obj.jurisdictions.all())


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, raw = token_issue(user=obj.user, name=obj.name, actor=actor_of(request))
        obj.pk = token.pk
        self.message_user(
            request,
            _("令牌已创建，只显示这一次，请立即复制：%(raw)s") % {"raw": raw},
            level=messages.WARNING,
        )

    @admin.action(description=_("吊销所选令牌"))
    def revoke(self, request, queryset):
        for token in queryset:
            token_revoke(token=token, actor=actor_of(request))


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "username", "ip", "action", "object_kind", "object_id"]
    list_filter = ["action"]
    search_fields = ["username", "object_id"]
    fields = ["at", "username", "api_token", "ip", "action", "object_kind", "object_id", "details", "area"]
    readonly_fields = fields

    @admin.display(description=_("对象类型"), ordering="object_type")
    def object_kind(self, obj):
        return object_label(obj.object_type)

    @admin.display(description=_("API 令牌"))
    def api_token(self, obj):
        return str(obj.token) if obj.token_id else "—"

    @admin.display(description=_("详情"))
    def details(self, obj):
        return detail_text(obj.detail) or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
