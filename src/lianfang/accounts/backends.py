"""The role model in place of Django's groups and per-model permissions (issue 11, item 7)."""

from __future__ import annotations

from django.contrib.auth.backends import BaseBackend

from lianfang.accounts.roles import Role


class RolePermissions(BaseBackend):
    """An active staff user with the admin role may use the whole back office; nobody else gets a
    permission from Django's tables (which the back office no longer shows). Authenticates nobody."""

    @staticmethod
    def _admin(user) -> bool:
        return bool(user.is_active and user.is_staff and getattr(user, "role", "") == Role.ADMIN)

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return self._admin(user_obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return self._admin(user_obj)
