"""An audit event's details as labelled fields in the reader's language (the audit page, its
export and the back office): never the stored JSON. Labels are declared per app
(``Plugin.audit_fields``)."""

from __future__ import annotations

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from lianfang.core import plugins
from lianfang.core.summary import reason_text


def value_text(key: str, value, labels: dict[str, str]) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if value is None or value == "":
        return "—"
    if key == "reasons" and isinstance(value, dict):
        english = (get_language() or "").startswith("en")
        return "；".join(f"{reason_text(r)[1 if english else 0]} × {n:,}" for r, n in sorted(value.items()))
    if isinstance(value, dict):
        return "；".join(f"{labels.get(k, k)}: {value_text(k, v, labels)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "、".join(str(labels.get(v, v)) if isinstance(v, str) else str(v) for v in value) or "—"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def detail_fields(detail, labels: dict[str, str]) -> list[tuple[str, str]]:
    if not isinstance(detail, dict):
        return [(_("详情"), str(detail))]
    return [(str(labels.get(k, k)), value_text(k, v, labels)) for k, v in detail.items()]


def detail_text(detail) -> str:
    """The details on one line: ``label: value；…``."""
    return "；".join(f"{label}: {value}" for label, value in detail_fields(detail, plugins.audit_fields()))


def object_label(object_type: str) -> str:
    kind = plugins.audit_objects().get(object_type)
    return str(kind.label) if kind else object_type
