"""The error pages (400, 403, 404, 500 and a refused form), in the product's layout and language,
with DEBUG off as the demo and production serve: what happened and the way back, nothing of the
site's internals (Django's debug page lists every URL pattern)."""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

log = logging.getLogger(__name__)


def _texts(status: int) -> tuple[str, str]:
    return {
        400: (_("请求有误"), _("这个请求无法处理。请返回上一页，检查填写的内容后再试。")),
        403: (
            _("无权访问"),
            _("您的角色或辖区不包括这个页面或操作。如确需使用，请联系本级指挥部办公室开通权限。"),
        ),
        404: (
            _("页面不存在"),
            _("没有找到这个页面：地址可能有误，内容可能已删除，或不在您的辖区内。请从导航重新进入。"),
        ),
        500: (
            _("服务器出错了"),
            _("处理这个请求时发生了内部错误，已记录。请稍后再试；如果一再出现，请联系系统管理员。"),
        ),
        4030: (
            _("页面已过期"),
            _("表单已过期或缺少安全校验（例如在另一个窗口退出了登录）。请刷新页面后重新提交。"),
        ),
    }[status]


@requires_csrf_token
def _render(request, status: int, shown: int | None = None) -> HttpResponse:
    heading, explanation = _texts(status)
    shown = shown or status
    context = {"status": shown, "heading": heading, "explanation": explanation}
    try:
        body = render_to_string("lianfang/error.html", context, request=request)
    except Exception:  # the page itself failed (a broken database in the navigation): plain words
        log.exception("error page %s could not be rendered", shown)
        body = f"<!doctype html><meta charset='utf-8'><title>{shown}</title><h1>{heading}</h1><p>{explanation}</p>"
    return HttpResponse(body, status=shown)


def bad_request(request, exception=None):
    return _render(request, 400)


def permission_denied(request, exception=None):
    return _render(request, 403)


def page_not_found(request, exception=None):
    return _render(request, 404)


def server_error(request):
    return _render(request, 500)


def csrf_failure(request, reason=""):
    return _render(request, 4030, 403)
