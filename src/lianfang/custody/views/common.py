"""What the custody pages share: the 404 of "not there / not yours", times typed into forms, and
how a refusal is shown."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404

from lianfang.accounts.scoping import NotPermitted
from lianfang.core.errors import Refused
from lianfang.core.times import SHANGHAI, parse_time
from lianfang.custody.services.common import refuse

T = TypeVar("T")


def or_404(found: T | None) -> T:
    if found is None:
        raise Http404
    return found


def form_time(text: str) -> dt.datetime | None:
    """A time typed into a form (Asia/Shanghai unless it says otherwise); None when left empty."""
    text = (text or "").strip()
    if not text:
        return None
    value = parse_time(text)
    if value is None:
        raise refuse("bad_time")
    return value


def local_input(value: dt.datetime) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def run(request, write) -> bool:
    """Call ``write()``; a refusal becomes the page's message (a role without the verb: 403)."""
    try:
        write()
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except Refused as exc:
        messages.error(request, f"{exc.zh} / {exc.en}")
        return False
    return True
