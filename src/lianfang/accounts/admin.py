"""The back office: users, roles, jurisdictions, device tokens; the audit log read-only.

The registry of people is deliberately not in the admin: personal data is only reached through
the scoped, masked and audited pages and API.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

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
        *BaseUserAdmin.fieldsets,
        (_("联防"), {"fields": ("role", "display_name", "unit")}),
    )
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
    list_display = ["at", "username", "ip", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["username", "object_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
