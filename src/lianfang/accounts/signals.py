"""Every login attempt, on every path (the pages' /login/, the back office's /admin/login/), goes to
the audit log: Django announces both, whichever view took the password."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from lianfang.accounts.services import login_audit
from lianfang.accounts.throttle import username_of


@receiver(user_logged_in, dispatch_uid="lianfang-login-audit")
def _logged_in(sender, request, user, **kwargs):
    login_audit(request=request, user=user, username=user.get_username())


@receiver(user_login_failed, dispatch_uid="lianfang-login-failed-audit")
def _login_failed(sender, credentials, request=None, **kwargs):
    login_audit(request=request, user=None, username=username_of(request, credentials))
