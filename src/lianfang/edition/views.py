"""The protocol page: the edition in force, every value it sets (local practice marked), its
history, and the switch for a city-wide commander."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from lianfang import protocol
from lianfang.accounts.scoping import actor_of, scoped
from lianfang.edition.models import EditionSwitch
from lianfang.edition.services import EditionError, edition_switch, in_force


def _rows(data, prefix: str = "") -> list[tuple[str, object]]:
    """Nested values as (dotted name, value) rows."""
    rows: list[tuple[str, object]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and key != "verify":
            rows += _rows(value, f"{name}.")
        elif key != "verify":
            rows.append((name, value))
    return rows


# The protocol's sections as the page heads them (their keys are the values' dotted names).
SECTION_LABELS = {
    "screening": gettext_lazy("核酸筛查"),
    "contacts": gettext_lazy("风险人员判定与管控"),
    "tracing": gettext_lazy("流调溯源"),
    "transfer": gettext_lazy("转运"),
    "treatment": gettext_lazy("救治与出院"),
    "zones": gettext_lazy("风险区域"),
    "command": gettext_lazy("指挥调度"),
}


@scoped
@require_http_methods(["GET", "POST"])
def edition_page(request):
    actor = actor_of(request)
    if not actor.codes:
        return render(request, "lianfang/edition/page.html", {"denied": True}, status=404)
    error = ""
    if request.method == "POST":
        try:
            edition_switch(
                actor=actor, code=request.POST.get("edition", ""), reason=request.POST.get("reason", "")
            )
        except EditionError as exc:
            error = str(exc)
        else:
            messages.success(request, _("防控方案版本已切换，新记录按新版本执行。"))
            return redirect("edition:page")
    current = in_force()
    data = protocol.as_dict(current)
    verify = set(data.pop("verify_paths"))
    sections = []
    for section, label in SECTION_LABELS.items():
        rows = [
            (name, value, name in verify or _verify_prefix(name, verify))
            for name, value in _rows(data[section], f"{section}.")
        ]
        sections.append({"name": section, "label": label, "rows": rows})
    return render(
        request,
        "lianfang/edition/page.html",
        {
            "current": current,
            "sections": sections,
            "editions": protocol.editions(),
            "english": (get_language() or "").startswith("en"),
            "history": EditionSwitch.objects.visible_to(actor).select_related("switched_by")[:50],
            "may_switch": actor.may("protocol.switch"),
            "error": error,
        },
        status=400 if error else 200,
    )


def _verify_prefix(name: str, verify: set[str]) -> bool:
    return any(name.startswith(path + ".") for path in verify)
